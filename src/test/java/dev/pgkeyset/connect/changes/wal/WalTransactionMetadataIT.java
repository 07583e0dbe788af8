package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.data.Struct;
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
                            + TransactionEvents.xidOf(((Struct) r.value()).getString("id"))).toList());
            Struct bigEnd = (Struct) transactionEvents.get(1).value();
            assertEquals(11L, bigEnd.getInt64("event_count"));
            assertEquals(List.of("public.c=9", "public.d=2"), TransactionEvents.collections(bigEnd));
            assertEquals(List.of("public.d=2"), TransactionEvents.collections((Struct) transactionEvents.get(3).value()));

            TransactionEvents.assertNumbered(delivered, bigXid, 11, transactionEvents.get(0), transactionEvents.get(1));
            TransactionEvents.assertNumbered(delivered, smallXid, 2, transactionEvents.get(2), transactionEvents.get(3));
            List<String> ends = harness.transactionEnds().stream().map(r -> r.topic() + " "
                    + (r.value() instanceof Struct v && v.schema().field("status") != null ? v.getString("status")
                    : r.value())).toList();
            assertTrue(ends.stream().allMatch(e -> e.equals("txmeta.transaction END")),
                    "a Kafka transaction ends only on an END: " + ends);
            assertEquals(2, ends.size(), "once per PostgreSQL transaction: " + ends);
        }
    }

    private long inTransaction(String... statements) throws Exception {
        return TransactionEvents.inTransaction(db, statements);
    }
}
