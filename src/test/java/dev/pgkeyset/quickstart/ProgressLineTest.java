package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The progress line's text and how it is redrawn. The redraw is checked on a small terminal model
 * ({@link Screen}: carriage return, erase to end of line, printable characters), so "no stale
 * characters" means what a person would see, not what the code meant to send.
 */
class ProgressLineTest {

    /** One terminal row: \r moves to column 0, ESC[K erases from the cursor, anything else is written there. */
    private static final class Screen {
        private final StringBuilder row = new StringBuilder();
        private int cursor;

        void print(String text) {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '\r') {
                    cursor = 0;
                } else if (c == '\u001b' && text.startsWith("\u001b[K", i)) {
                    row.setLength(Math.min(row.length(), cursor));
                    i += 2;
                } else {
                    if (cursor < row.length()) {
                        row.setCharAt(cursor, c);
                    } else {
                        row.append(c);
                    }
                    cursor++;
                }
            }
        }

        String shown() {
            return row.toString();
        }
    }

    @Test
    void snapshotAndChangesAreSeparateParts() {
        assertEquals("snapshot 120,000/300,000 rows (40%), 25,300 rows/s, ETA 8 s | changes 0",
                ProgressLine.format(120_000, 300_000, false, 25_300, 7.2, 0, null, 200));
        assertEquals("snapshot done: 300,000 rows | changes 11, lag 0 B of WAL",
                ProgressLine.format(300_000, 300_000, true, 0, 0, 11, "lag 0 B of WAL", 200));
        // Rows inserted during the snapshot can make it read more than were counted: never above 100 %.
        assertEquals("snapshot 300,011/300,011 rows (100%), 10 rows/s, ETA 0 s | changes 0",
                ProgressLine.format(300_011, 300_000, false, 10, 0, 0, null, 200));
        assertEquals("snapshot 0/0 rows (100%), 0 rows/s, ETA ? | changes 0",
                ProgressLine.format(0, 0, false, 0, -1, 0, null, 200));
    }

    @Test
    void withoutATerminalALineComesEveryFiveSecondsAndOnceWhenCaughtUp() {
        long second = 1_000_000_000L;
        assertTrue(Progress.plainLineDue(6 * second, false, false));
        assertFalse(Progress.plainLineDue(second, false, false));
        // The moment the topics hold the rows: at once, whatever the interval.
        assertTrue(Progress.plainLineDue(second, true, false));
        // From then on (following changes until Ctrl-C): every five seconds again, not every second.
        assertFalse(Progress.plainLineDue(second, true, true));
        assertTrue(Progress.plainLineDue(6 * second, true, true));
    }

    @Test
    void etaReadsAsAPersonWouldSayIt() {
        assertEquals("?", ProgressLine.eta(-1));
        assertEquals("0.4 s", ProgressLine.seconds(420));
        assertEquals("59.9 s", ProgressLine.seconds(59_949));
        assertEquals("3,600 s", ProgressLine.seconds(3_600_400));
        assertEquals("?", ProgressLine.eta(Double.POSITIVE_INFINITY));
        assertEquals("0 s", ProgressLine.eta(0));
        assertEquals("1 s", ProgressLine.eta(0.2));
        assertEquals("59 s", ProgressLine.eta(59));
        assertEquals("1 min 00 s", ProgressLine.eta(60));
        assertEquals("2 min 05 s", ProgressLine.eta(125));
        assertEquals("59 min 59 s", ProgressLine.eta(3599));
        assertEquals("1 h 00 min", ProgressLine.eta(3600));
        assertEquals("26 h 03 min", ProgressLine.eta(26 * 3600 + 3 * 60 + 59));
    }

    @Test
    void bytesReadAsAPersonWouldSayThem() {
        assertEquals("0 B", ProgressLine.bytes(0));
        assertEquals("999 B", ProgressLine.bytes(999));
        assertEquals("1.0 kB", ProgressLine.bytes(1000));
        assertEquals("12.3 kB", ProgressLine.bytes(12_345));
        assertEquals("4.0 MB", ProgressLine.bytes(4_000_000));
        assertEquals("2.5 GB", ProgressLine.bytes(2_500_000_000L));
    }

    /** A line never reaches the terminal's last column: the cursor would wrap, and \r returns to that row only. */
    @Test
    void aLineFitsTheTerminalWidth() {
        for (int width : new int[] {20, 40, 80, 132}) {
            String line = ProgressLine.format(123_456_789, 987_654_321, false, 1_234_567, 100_000, 42_000_000,
                    "lag 123.4 MB of WAL", width);
            assertTrue(line.length() <= width - 1, width + ": " + line.length() + " " + line);
        }
        assertEquals(80, ProgressLine.terminalWidth(null));
        assertEquals(80, ProgressLine.terminalWidth("wide"));
        assertEquals(80, ProgressLine.terminalWidth("3"));
        assertEquals(132, ProgressLine.terminalWidth(" 132 "));
        String full = ProgressLine.format(1, 2, false, 3, 4, 5, null, Integer.MAX_VALUE);
        assertEquals(full, ProgressLine.fit(full, full.length() + 1), "a line that fits is left whole");
    }

    /** Lines of random lengths redrawn over each other: what shows is exactly the last one. */
    @Test
    void aRedrawLeavesNoStaleCharacters() {
        long seed = System.nanoTime();
        System.out.println("ProgressLineTest seed " + seed);
        Random random = new Random(seed);
        Screen screen = new Screen();
        for (int i = 0; i < 200; i++) {
            boolean done = random.nextInt(4) == 0;
            long total = random.nextInt(1_000_000_000);
            String line = ProgressLine.format(done ? total : random.nextLong(total + 1), total, done,
                    random.nextInt(10_000_000), random.nextInt(100_000) - 1, random.nextInt(1_000_000),
                    random.nextBoolean() ? null : ProgressLine.bytes(random.nextInt(2_000_000_000)), 80);
            screen.print(ProgressLine.redraw(line));
            assertEquals(line, screen.shown(), "seed " + seed + ", line " + i);
        }
        // The case the issue saw: a long line, then a shorter one.
        screen.print(ProgressLine.redraw("snapshot 300,000/300,000 rows (100%), 51 rows/s, ETA 51 s | changes 0"));
        screen.print(ProgressLine.redraw("snapshot done: 300,000 rows | changes 1"));
        assertEquals("snapshot done: 300,000 rows | changes 1", screen.shown());
    }
}
