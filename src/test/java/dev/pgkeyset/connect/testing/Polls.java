package dev.pgkeyset.connect.testing;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/** Polling a {@link TaskHarness} until something holds, or for a while. */
public final class Polls {

    private Polls() {
    }

    /** Polls until {@code done} holds, collecting every record; fails after {@code timeout}. */
    public static void until(TaskHarness harness, List<SourceRecord> into, Duration timeout, BooleanSupplier done)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                List<Long> keys = into.stream().map(Polls::id).distinct().sorted().toList();
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s; records so far: "
                        + into.size() + ", distinct keys " + keys.size() + (keys.size() > 20 ? "" : " " + keys));
            }
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }

    /** Polls for a while, collecting whatever comes (e.g. to show that nothing does). */
    public static void during(TaskHarness harness, List<SourceRecord> into, Duration duration)
            throws InterruptedException {
        long deadline = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < deadline) {
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }

    /** The record's key field {@code id}, read as a long whatever its integer width. */
    public static long id(SourceRecord record) {
        return ((Number) ((Struct) record.key()).get("id")).longValue();
    }

    public static String op(SourceRecord record) {
        return record.headers().lastWithName("pgkeyset.op").value().toString();
    }
}
