package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.LongStream;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/** What the transaction-metadata ITs read from delivered records: BEGIN/END events and each change's place. */
final class TransactionEvents {

    private TransactionEvents() {
    }

    static List<SourceRecord> transactionEvents(List<SourceRecord> records, String txTopic) {
        return records.stream().filter(r -> r.topic().equals(txTopic)).toList();
    }

    static List<String> statuses(List<SourceRecord> events) {
        return events.stream().map(r -> ((Struct) r.value()).getString("status") + " "
                + xidOf(((Struct) r.value()).getString("id"))).toList();
    }

    /**
     * The events of transaction {@code xid} lie between its BEGIN and END in delivery order and
     * are numbered 1..{@code events} once each, per table 1..k.
     */
    static void assertNumbered(List<SourceRecord> delivered, long xid, long events, SourceRecord begin,
                               SourceRecord end) {
        int from = delivered.indexOf(begin), to = delivered.indexOf(end);
        List<Long> totals = new ArrayList<>();
        Map<String, List<Long>> perTable = new TreeMap<>();
        for (int i = 0; i < delivered.size(); i++) {
            SourceRecord record = delivered.get(i);
            Object[] place = place(record);
            if (place == null || xidOf(place) != xid) {
                continue;
            }
            assertTrue(i > from && i < to, "event " + place[1] + " of " + xid + " between its BEGIN and END");
            totals.add((Long) place[1]);
            perTable.computeIfAbsent(record.topic(), t -> new ArrayList<>()).add((Long) place[2]);
        }
        totals.sort(null);
        assertEquals(LongStream.rangeClosed(1, events).boxed().toList(), totals, "total_order of " + xid);
        perTable.forEach((topic, orders) -> {
            orders.sort(null);
            assertEquals(LongStream.rangeClosed(1, orders.size()).boxed().toList(), orders,
                    "data_collection_order of " + topic + " in " + xid);
        });
    }

    /** id, total_order, data_collection_order of a change event (block or headers); null for others. */
    static Object[] place(SourceRecord record) {
        if (record.value() instanceof Struct value && value.schema().field("transaction") != null) {
            Struct block = value.getStruct("transaction");
            return block == null ? null : new Object[] {block.getString("id"), block.getInt64("total_order"),
                    block.getInt64("data_collection_order")};
        }
        Header id = record.headers().lastWithName("pgkeyset.tx.id");
        if (id == null) {
            return null; // a transaction event, an envelope's tombstone, a snapshot row
        }
        return new Object[] {id.value(), record.headers().lastWithName("pgkeyset.tx.total_order").value(),
                record.headers().lastWithName("pgkeyset.tx.data_collection_order").value()};
    }

    static long xidOf(Object[] place) {
        return place == null ? -1 : xidOf((String) place[0]);
    }

    static List<String> collections(Struct end) {
        List<String> tables = new ArrayList<>();
        for (Object table : end.getArray("data_collections")) {
            tables.add(((Struct) table).getString("data_collection") + "=" + ((Struct) table).getInt64("event_count"));
        }
        return tables;
    }

    static long xidOf(String id) {
        return Long.parseLong(id.substring(0, id.indexOf(':')));
    }

    static void add(List<SourceRecord> records, List<SourceRecord> seen) {
        if (records != null) {
            seen.addAll(records);
        }
    }

    static void awaitStreaming(TestDatabase db, TaskHarness harness, String slot, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + slot
                + "'") == 0) {
            assertTrue(System.nanoTime() < deadline, "slot streamed");
            harness.poll();
        }
    }

    /** Runs the statements in one transaction; returns its xid as pgoutput sends it (32 bits). */
    static long inTransaction(TestDatabase db, String... statements) throws Exception {
        try (Connection conn = db.connect(); Statement st = conn.createStatement()) {
            conn.setAutoCommit(false);
            for (String sql : statements) {
                st.execute(sql);
            }
            long xid;
            try (var rs = st.executeQuery("SELECT pg_current_xact_id()::text::bigint % 4294967296")) {
                rs.next();
                xid = rs.getLong(1);
            }
            conn.commit();
            return xid;
        }
    }
}
