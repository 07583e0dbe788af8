package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * provide.transaction.metadata across restarts: the task is restarted after every single record
 * (batch.max.rows=1; the slot re-sends the open transaction from its start each time), with the
 * record format drawn from a printed seed. Each transaction with a captured change still has one
 * BEGIN before its events and one END after them, END counting the events the SQL made; every
 * event is numbered 1..n once; a transaction that touches only an uncaptured table has neither;
 * and a Kafka transaction ends only on an END. The xids come from PostgreSQL itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalTransactionMetadataIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("txmeta");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("tx_meta_resume");
        db.execute("CREATE TABLE c (id int PRIMARY KEY, v text)", "CREATE TABLE d (id int PRIMARY KEY)",
                "CREATE TABLE u (id int PRIMARY KEY)");
    }

    @AfterAll
    void tearDown() {
        try {
            WalFixture.dropSlotAndPublication(db, name);
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    @Test
    void beginAndEndOnceEachAndEveryEventNumberedOnceThroughRestartsAfterEachRecord() throws Exception {
        long seed = Long.getLong("pgkeyset.test.seed", System.nanoTime());
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        String format = random.nextBoolean() ? "envelope" : "row";
        System.out.println("WalTransactionMetadataIT seed " + seed + ": record.format=" + format);

        Map<String, String> config = WalFixture.walConfig(db, "txmeta", "public\\.(c|d)", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        config.put("record.format", format);
        config.put("provide.transaction.metadata", "true");
        List<SourceRecord> delivered = new ArrayList<>();
        Set<Map<String, ?>> offsets = new HashSet<>();
        List<String> duplicates = new ArrayList<>();
        long bigXid, smallXid;
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + name
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot streamed");
                harness.poll();
            }
            // 5 inserts, a key change (its delete event and its create), an update, a delete on c; 2 inserts on d.
            bigXid = inTransaction("INSERT INTO c SELECT g, 'v' || g FROM generate_series(1, 5) g",
                    "INSERT INTO u VALUES (1)", "INSERT INTO d VALUES (1)", "UPDATE c SET id = 10 WHERE id = 2",
                    "UPDATE c SET v = 'x' WHERE id = 3", "INSERT INTO d VALUES (2)", "DELETE FROM c WHERE id = 4");
            inTransaction("INSERT INTO u VALUES (2)"); // uncaptured only: no BEGIN, no END
            smallXid = inTransaction("UPDATE d SET id = 3 WHERE id = 1");
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()) {
                assertTrue(System.nanoTime() < deadline, "records; seen " + delivered.size());
                List<SourceRecord> records = harness.poll();
                if (records == null) {
                    continue;
                }
                quietSince = System.nanoTime();
                for (SourceRecord r : records) {
                    if (!offsets.add(r.sourceOffset())) {
                        duplicates.add(r.topic() + " " + r.sourceOffset());
                    }
                    delivered.add(r);
                }
                harness.stop();
                harness.start();
            }
            assertTrue(duplicates.isEmpty(), "records delivered twice: " + duplicates);

            List<SourceRecord> transactionEvents = delivered.stream()
                    .filter(r -> r.topic().equals("txmeta.transaction")).toList();
            assertEquals(List.of("BEGIN " + bigXid, "END " + bigXid, "BEGIN " + smallXid, "END " + smallXid),
                    transactionEvents.stream().map(r -> ((Struct) r.value()).getString("status") + " "
                            + xidOf(((Struct) r.value()).getString("id"))).toList());
            Struct bigEnd = (Struct) transactionEvents.get(1).value();
            assertEquals(11L, bigEnd.getInt64("event_count"));
            assertEquals(List.of("public.c=9", "public.d=2"), collections(bigEnd));
            assertEquals(List.of("public.d=2"), collections((Struct) transactionEvents.get(3).value()));

            assertNumbered(delivered, bigXid, 11, transactionEvents.get(0), transactionEvents.get(1));
            assertNumbered(delivered, smallXid, 2, transactionEvents.get(2), transactionEvents.get(3));
            List<String> ends = harness.transactionEnds().stream().map(r -> r.topic() + " "
                    + (r.value() instanceof Struct v && v.schema().field("status") != null ? v.getString("status")
                    : r.value())).toList();
            assertTrue(ends.stream().allMatch(e -> e.equals("txmeta.transaction END")),
                    "a Kafka transaction ends only on an END: " + ends);
            assertEquals(2, ends.size(), "once per PostgreSQL transaction: " + ends);
        }
    }

    /**
     * The events of transaction {@code xid} between its BEGIN and END in delivery order, numbered
     * 1..{@code events} once each, per table 1..k.
     */
    private static void assertNumbered(List<SourceRecord> delivered, long xid, int events, SourceRecord begin,
                                       SourceRecord end) {
        int from = delivered.indexOf(begin), to = delivered.indexOf(end);
        List<Long> totals = new ArrayList<>();
        Map<String, List<Long>> perTable = new java.util.TreeMap<>();
        for (int i = 0; i < delivered.size(); i++) {
            SourceRecord record = delivered.get(i);
            Object[] place = place(record);
            if (place == null || xidOf((String) place[0]) != xid) {
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
    private static Object[] place(SourceRecord record) {
        if (record.value() instanceof Struct value && value.schema().field("transaction") != null) {
            Struct block = value.getStruct("transaction");
            return block == null ? null : new Object[] {block.getString("id"), block.getInt64("total_order"),
                    block.getInt64("data_collection_order")};
        }
        Header id = record.headers().lastWithName("pgkeyset.tx.id");
        if (id == null) {
            return null; // a transaction event, or an envelope's tombstone
        }
        return new Object[] {id.value(), record.headers().lastWithName("pgkeyset.tx.total_order").value(),
                record.headers().lastWithName("pgkeyset.tx.data_collection_order").value()};
    }

    private static List<String> collections(Struct end) {
        List<String> tables = new ArrayList<>();
        for (Object table : end.getArray("data_collections")) {
            tables.add(((Struct) table).getString("data_collection") + "=" + ((Struct) table).getInt64("event_count"));
        }
        return tables;
    }

    private static long xidOf(String id) {
        return Long.parseLong(id.substring(0, id.indexOf(':')));
    }

    /** Runs the statements in one transaction; returns its xid as pgoutput sends it (32 bits). */
    private long inTransaction(String... statements) throws Exception {
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
