package dev.pgkeyset.connect.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import java.util.function.IntToLongFunction;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Reads snapshot-only tables to their end through a {@link TaskHarness}, restarting the task after
 * the polls a predicate picks (as a crash after that poll's offsets were committed would), so each
 * restart resumes from an offset's text form.
 */
public final class RestartingReader {

    /** Enough for any table of the tests; a reader that never finishes fails instead of hanging. */
    private static final int MAX_POLLS = 100_000;

    private RestartingReader() {
    }

    /**
     * @param restartAfter given the number of the poll just done (1, 2, …), whether to restart now
     * @param pauseMillis  a pause before each poll (to let cursor.max.age.ms pass), 0 for none
     */
    public static List<SourceRecord> readAll(Map<String, String> props, IntPredicate restartAfter, long pauseMillis)
            throws InterruptedException {
        return readAll(props, restartAfter, poll -> pauseMillis);
    }

    /** @param pauseBefore given the number of the poll about to be done, how long to pause first */
    public static List<SourceRecord> readAll(Map<String, String> props, IntPredicate restartAfter,
                                             IntToLongFunction pauseBefore) throws InterruptedException {
        return readAll(props, restartAfter, pauseBefore, Integer.MAX_VALUE);
    }

    /**
     * The same, giving up once more than {@code maxRecords} arrived: a reader that resumes before
     * its position delivers rows again and again, and would never finish.
     */
    public static List<SourceRecord> readAll(Map<String, String> props, IntPredicate restartAfter,
                                             IntToLongFunction pauseBefore, int maxRecords)
            throws InterruptedException {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            int nullsInARow = 0;
            for (int poll = 1; poll <= MAX_POLLS; poll++) {
                long pause = pauseBefore.applyAsLong(poll);
                if (pause > 0) {
                    Thread.sleep(pause);
                }
                List<SourceRecord> batch = harness.poll();
                if (batch == null) {
                    if (allComplete(harness) || ++nullsInARow > 50) {
                        return records;
                    }
                    Thread.sleep(10);
                    continue;
                }
                nullsInARow = 0;
                records.addAll(batch);
                if (records.size() > maxRecords) {
                    return records;
                }
                if (restartAfter.test(poll)) {
                    harness.stop();
                    harness.start();
                }
            }
        }
        throw new AssertionError("the snapshot did not finish in " + MAX_POLLS + " polls");
    }

    private static boolean allComplete(TaskHarness harness) {
        return !harness.committed().isEmpty() && harness.committed().values().stream()
                .allMatch(offset -> "snapshot_complete".equals(offset.get("phase")));
    }

    /** A value field of each record, e.g. a row id that is not part of the key. */
    public static List<Object> valueField(List<SourceRecord> records, String field) {
        return records.stream().map(r -> ((Struct) r.value()).get(field)).toList();
    }
}
