package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.add;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.statuses;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.transactionEvents;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.xidOf;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

/** provide.transaction.metadata switched on (or off) on a connector with offsets, between two task starts. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalTransactionMetadataSwitchIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String TX_TOPIC_SUFFIX = ".transaction";

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("txsw");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("tx_meta_switch");
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

    /**
     * provide.transaction.metadata switched on over offsets written without it. The transaction
     * delivered before was given no BEGIN (there was none then): it must not get a lone END now,
     * when the slot (not confirmed past it: the task stopped before its acknowledgements reached
     * the slot) sends it again. The next transaction has both.
     */
    @Test
    void switchedOnAfterATransactionWasDeliveredWithoutItNoLoneEndComes() throws Exception {
        db.execute("CREATE TABLE sw (id int PRIMARY KEY)");
        Map<String, String> config = WalFixture.walConfig(db, "txsw", "public\\.sw", name, "never");
        config.put("poll.interval.ms", "10");
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long before = TransactionEvents.inTransaction(db, "INSERT INTO sw VALUES (1), (2)");
            List<SourceRecord> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (seen.size() < 2) {
                assertTrue(System.nanoTime() < deadline, "the two rows without metadata");
                add(harness.poll(), seen);
            }
            harness.stop();
            config.put("provide.transaction.metadata", "true");
            harness.reconfigure(config);
            harness.start();
            long after = TransactionEvents.inTransaction(db, "INSERT INTO sw VALUES (3)");
            List<SourceRecord> more = new ArrayList<>();
            while (transactionEvents(more, "txsw.transaction").stream()
                    .noneMatch(r -> ((Struct) r.value()).getString("status").equals("END")
                            && xidOf(((Struct) r.value()).getString("id")) == after)) {
                assertTrue(System.nanoTime() < deadline, "END of the transaction after the switch; seen " + more);
                add(harness.poll(), more);
            }
            assertEquals(List.of("txsw.public.sw"), more.stream().map(SourceRecord::topic)
                    .filter(topic -> !topic.endsWith(TX_TOPIC_SUFFIX)).toList(), "only the row inserted after");
            assertEquals(List.of("BEGIN " + after, "END " + after), statuses(transactionEvents(more,
                    "txsw.transaction")), "transaction " + before + " was delivered before the switch without BEGIN");
        }
    }

    /**
     * provide.transaction.metadata switched off over its offsets: committed at a BEGIN (only it
     * was delivered), the transaction's changes all come, once; committed at an END, none of
     * that transaction comes again.
     */
    @Test
    void switchedOffOverABeginOrAnEndOffsetNeitherSkipsNorRepeatsChanges() throws Exception {
        db.execute("CREATE TABLE off (id int PRIMARY KEY)");
        String slot = name + "_off";
        Map<String, String> config = WalFixture.walConfig(db, "txoff", "public\\.off", slot, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        config.put("provide.transaction.metadata", "true");
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, slot, TIMEOUT);
            long t = TransactionEvents.inTransaction(db, "INSERT INTO off VALUES (1), (2), (3)");
            List<SourceRecord> first = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (first.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "BEGIN of " + t);
                add(harness.poll(), first);
            }
            assertEquals(List.of("BEGIN " + t), statuses(first), "only the BEGIN delivered");
            harness.stop();
            config.put("provide.transaction.metadata", "false");
            config.put("batch.max.rows", "100");
            harness.reconfigure(config);
            harness.start();
            List<SourceRecord> rows = new ArrayList<>();
            while (rows.size() < 3) {
                assertTrue(System.nanoTime() < deadline, "the 3 rows of " + t + "; seen " + rows);
                add(harness.poll(), rows);
            }
            long u = TransactionEvents.inTransaction(db, "INSERT INTO off VALUES (4)");
            while (rows.size() < 4) {
                assertTrue(System.nanoTime() < deadline, "the row of " + u + "; seen " + rows);
                add(harness.poll(), rows);
            }
            Thread.sleep(500);
            add(harness.poll(), rows);
            assertEquals(List.of(1, 2, 3, 4), rows.stream().map(r -> ((Struct) r.key()).getInt32("id")).toList(),
                    "each row once, none of them skipped");

            // On again until the END of a new transaction, then off over that END's offset.
            harness.stop();
            config.put("provide.transaction.metadata", "true");
            harness.reconfigure(config);
            harness.start();
            long v = TransactionEvents.inTransaction(db, "INSERT INTO off VALUES (5)");
            List<SourceRecord> on = new ArrayList<>();
            // (The slot sends u again too, which got a lone END: the other test's finding.)
            while (transactionEvents(on, "txoff.transaction").stream().noneMatch(r -> statuses(List.of(r)).get(0)
                    .equals("END " + v))) {
                assertTrue(System.nanoTime() < deadline, "BEGIN and END of " + v + "; seen " + on);
                add(harness.poll(), on);
            }
            assertEquals(List.of(5), on.stream().filter(r -> r.topic().equals("txoff.public.off"))
                    .map(r -> ((Struct) r.key()).getInt32("id")).toList(), "only the new row");
            harness.stop();
            config.put("provide.transaction.metadata", "false");
            harness.reconfigure(config);
            harness.start();
            long w = TransactionEvents.inTransaction(db, "INSERT INTO off VALUES (6)");
            List<SourceRecord> last = new ArrayList<>();
            while (last.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "the row of " + w);
                add(harness.poll(), last);
            }
            Thread.sleep(500);
            add(harness.poll(), last);
            assertEquals(List.of(6), last.stream().map(r -> ((Struct) r.key()).getInt32("id")).toList(),
                    "nothing of " + v + " again after its END's offset");
        } finally {
            WalFixture.dropSlotAndPublication(db, slot);
        }
    }
}
