package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntToLongFunction;

import org.junit.jupiter.api.Test;

/** Fetch sizes as a pgjdbc cursor would use them: the statement's for the first fetch, then the result set's. */
class FetchSizerTest {

    private static final long MIB = 1024 * 1024;

    /** One round trip: the rows it asked for, the bytes and the widest row it brought. */
    private record Fetch(int rows, long bytes, long widest) {
    }

    /** Reads {@code rows} rows of {@code width(i)} bytes through one cursor, the way TableReader does. */
    private static List<Fetch> read(FetchSizer sizer, int rows, IntToLongFunction width) {
        List<Fetch> fetches = new ArrayList<>();
        int fetchSize = sizer.startCursor();
        int buffered = fetchSize;
        int asked = fetchSize;
        long bytes = 0;
        long widest = 0;
        for (int i = 0; i < rows; i++) {
            int next = sizer.beforeNext();
            assertEquals(buffered == 0, next > 0, "a new size exactly when the next row needs a fetch");
            if (next > 0) {
                fetchSize = next;
            }
            if (buffered == 0) {
                fetches.add(new Fetch(asked, bytes, widest));
                asked = fetchSize;
                buffered = fetchSize;
                bytes = 0;
                widest = 0;
            }
            buffered--;
            long w = width.applyAsLong(i);
            sizer.rowRead(w);
            bytes += w;
            widest = Math.max(widest, w);
        }
        fetches.add(new Fetch(asked, bytes, widest));
        return fetches;
    }

    @Test
    void narrowRowsGrowFourfoldUpToFetchSize() {
        List<Fetch> fetches = read(new FetchSizer(8 * MIB, 5000), 30_000, i -> 200);
        assertEquals(List.of(1, 4, 16, 64, 256, 1024, 4096, 5000, 5000), fetches.stream().map(Fetch::rows).toList()
                .subList(0, 9));
    }

    @Test
    void wideRowsAreFetchedAsManyAsFitTheBudget() {
        // Rows of 2.7 MB: 8 MiB holds 3 of them.
        List<Fetch> fetches = read(new FetchSizer(8 * MIB, 5000), 300, i -> 2_700_000);
        assertEquals(1, fetches.get(0).rows());
        assertEquals(List.of(3), fetches.stream().skip(1).map(Fetch::rows).distinct().toList());
        assertTrue(fetches.stream().allMatch(f -> f.bytes() <= 8 * MIB));
    }

    @Test
    void aReopenedCursorStartsWhereTheLastOneStood() {
        FetchSizer sizer = new FetchSizer(8 * MIB, 5000);
        read(sizer, 20_000, i -> 100);
        assertEquals(5000, sizer.startCursor());
    }

    @Test
    void aFetchStoppedForItsBytesStartsAgainAtOneRowAndGrowsByTheWidthsItMeasures() {
        FetchSizer sizer = new FetchSizer(8 * MIB, 5000);
        read(sizer, 20_000, i -> 20);
        assertEquals(5000, sizer.startCursor(), "grown on the narrow rows");
        sizer.restartAtOneRow();
        // The reopened cursor meets rows of 2 MiB: one, then 4 (8 MiB / 2 MiB) at a time, never 5000.
        List<Fetch> fetches = read(sizer, 40, i -> 2 * MIB);
        assertEquals(List.of(1, 4), fetches.stream().map(Fetch::rows).distinct().toList());
    }

    @Test
    void noFetchExceedsTheBudgetByMoreThanTheWidthRatioOfItsRows() {
        long seed = Long.getLong("fetchsizer.seed", System.nanoTime());
        System.out.println("FetchSizerTest seed " + seed + " (replay with -Dfetchsizer.seed=" + seed + ")");
        Random random = new Random(seed);
        for (int round = 0; round < 50; round++) {
            long budget = 1024 + random.nextInt(16) * MIB;
            int maxRows = 1 + random.nextInt(10_000);
            // Runs of rows of one width, the width changing now and then by up to four orders of magnitude.
            long[] widths = new long[20_000];
            long width = 1 + random.nextInt(100_000);
            for (int i = 0; i < widths.length; i++) {
                if (random.nextInt(500) == 0) {
                    width = 1 + random.nextInt(random.nextBoolean() ? 1_000 : 10_000_000);
                }
                widths[i] = width;
            }
            List<Fetch> fetches = read(new FetchSizer(budget, maxRows), widths.length, i -> widths[i]);
            for (int f = 1; f < fetches.size(); f++) {
                Fetch fetch = fetches.get(f);
                long before = fetches.get(f - 1).widest();
                assertTrue(fetch.rows() >= 1 && fetch.rows() <= maxRows, "1 to fetch.size rows: " + fetch);
                double ratio = Math.max(1, (double) fetch.widest() / before);
                assertTrue(fetch.rows() == 1 || fetch.bytes() <= budget * ratio,
                        "round " + round + ", fetch " + f + ": " + fetch + ", budget " + budget + ", widest before "
                                + before);
            }
        }
    }
}
