package dev.pgkeyset.connect.changes.wal;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.testing.TaskHarness;

/** What the leaf-copy tests read from the records of table p (key {@code id}) and how they poll. */
final class LeafCopyRecords {

    private LeafCopyRecords() {
    }

    static String op(SourceRecord record) {
        Header header = record.headers().lastWithName(TablePlan.OP_HEADER);
        return header == null ? null : String.valueOf(header.value());
    }

    static int id(SourceRecord record) {
        return ((Number) ((Struct) record.key()).get("id")).intValue();
    }

    /** Read records (op r) of keys from {@code from} on: the copy's, where the attached table's keys start there. */
    static long copiedAtLeast(List<SourceRecord> records, int from) {
        return records.stream().filter(x -> "r".equals(op(x)) && x.key() != null && id(x) >= from).count();
    }

    /**
     * Polls for up to {@code millis} (or until {@code done}, when not null), acknowledging every
     * record as a worker does once the producer has it, so the slot is confirmed as in a worker.
     */
    static List<SourceRecord> pollAcking(TaskHarness task, List<SourceRecord> into, long millis,
                                         Predicate<List<SourceRecord>> done) throws Exception {
        long until = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < until && (done == null || !done.test(into))) {
            pollOnce(task, into);
        }
        return into;
    }

    /** One poll, its records kept and acknowledged. */
    static void pollOnce(TaskHarness task, List<SourceRecord> into) throws Exception {
        List<SourceRecord> batch = task.poll();
        if (batch != null) {
            into.addAll(batch);
            for (SourceRecord r : batch) {
                task.acknowledge(r);
            }
        }
    }

    /** The keys whose live value differs between PostgreSQL and the topic, the first dozen shown. */
    static String diff(Map<Integer, Integer> expected, Map<Integer, Integer> live) {
        TreeMap<Integer, String> d = new TreeMap<>();
        for (var e : expected.entrySet()) {
            Integer l = live.get(e.getKey());
            if (!e.getValue().equals(l)) {
                d.put(e.getKey(), "pg=" + e.getValue() + " topic=" + l);
            }
        }
        for (var e : live.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                d.put(e.getKey(), "pg=<none> topic=" + e.getValue());
            }
        }
        StringBuilder sb = new StringBuilder(d.size() + " key(s) differ");
        int shown = 0;
        for (var e : d.entrySet()) {
            if (shown++ == 12) {
                sb.append(" ...");
                break;
            }
            sb.append("; ").append(e.getKey()).append(": ").append(e.getValue());
        }
        return sb.toString();
    }
}
