package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.assertNumbered;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.collections;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.place;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.statuses;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.transactionEvents;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.xidOf;
import static dev.pgkeyset.connect.changes.wal.TransactionEvents.add;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Adversarial checks of provide.transaction.metadata (capture.mode=wal): TRUNCATE, savepoints
 * rolled back, captured and uncaptured tables in one transaction, a walsender ended inside a
 * large transaction, the feature switched on over offsets written without it. Expectations come
 * from the SQL run (which rows each transaction changed, its xid from PostgreSQL), not from the
 * connector.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalTransactionMetadataAdversaryIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String TX_TOPIC_SUFFIX = ".transaction";

    private TestDatabase db;
    private final List<String> slots = new ArrayList<>();

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("tx_meta_adv");
    }

    /** Each test's slot goes with it: the shared server has few replication slots. */
    @AfterEach
    void dropSlots() {
        for (String slot : slots) {
            WalFixture.dropSlotAndPublication(db, slot);
        }
        slots.clear();
    }

    @AfterAll
    void tearDown() {
        try {
            dropSlots();
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    private String slot(String purpose) {
        String name = WalFixture.uniqueName(purpose);
        slots.add(name);
        return name;
    }

    /**
     * One transaction with inserts on c, a savepoint rolled back (its rows never happened), a row
     * of an uncaptured table, a TRUNCATE of c and of the uncaptured table together, an insert on
     * d, a key change and a delete; then a transaction with only a TRUNCATE of d; then one with
     * only a TRUNCATE of the uncaptured table. The task restarts after every record.
     */
    @ParameterizedTest(name = "record.format={0}, truncate.handling={1}")
    @CsvSource({"row,event", "envelope,event", "row,skip", "envelope,skip"})
    void truncatesSavepointsAndUncapturedTablesCountAsTheSqlMadeThemThroughRestarts(String format, String truncate)
            throws Exception {
        String suffix = format.charAt(0) + truncate.substring(0, 2);
        String c = "c_" + suffix, d = "d_" + suffix, u = "u_" + suffix;
        db.execute("CREATE TABLE " + c + " (id int PRIMARY KEY, v text)", "CREATE TABLE " + d + " (id int PRIMARY KEY)",
                "CREATE TABLE " + u + " (id int PRIMARY KEY)");
        String name = slot("txtr" + suffix);
        String prefix = "txtr" + suffix;
        Map<String, String> config = WalFixture.walConfig(db, prefix, "public\\.(" + c + "|" + d + ")", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        config.put("record.format", format);
        config.put("truncate.handling", truncate);
        config.put("provide.transaction.metadata", "true");
        boolean truncates = truncate.equals("event");
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long big = TransactionEvents.inTransaction(db, "INSERT INTO " + c + " VALUES (1, 'a'), (2, 'b')",
                    "SAVEPOINT s", "INSERT INTO " + c + " VALUES (3, 'gone')", "INSERT INTO " + d + " VALUES (9)",
                    "ROLLBACK TO SAVEPOINT s",
                    "INSERT INTO " + u + " VALUES (1)",
                    "TRUNCATE " + c + ", " + u,
                    "INSERT INTO " + d + " VALUES (1)",
                    "INSERT INTO " + c + " VALUES (5, 'e')",
                    "UPDATE " + c + " SET id = 6 WHERE id = 5",
                    "DELETE FROM " + c + " WHERE id = 6");
            long onlyTruncateOfD = TransactionEvents.inTransaction(db, "TRUNCATE " + d);
            TransactionEvents.inTransaction(db, "TRUNCATE " + u);
            long last = TransactionEvents.inTransaction(db, "INSERT INTO " + d + " VALUES (7)");

            List<SourceRecord> delivered = pollRestartingAfterEach(harness, prefix + TX_TOPIC_SUFFIX, last);

            // c: 2 inserts, [the truncate], the insert of 5, the key change's two halves, the delete.
            long cEvents = 2 + (truncates ? 1 : 0) + 1 + 2 + 1;
            List<String> expected = new ArrayList<>(List.of("BEGIN " + big, "END " + big));
            if (truncates) {
                expected.addAll(List.of("BEGIN " + onlyTruncateOfD, "END " + onlyTruncateOfD));
            }
            expected.addAll(List.of("BEGIN " + last, "END " + last));
            List<SourceRecord> events = transactionEvents(delivered, prefix + TX_TOPIC_SUFFIX);
            assertEquals(expected, statuses(events), "BEGIN and END per transaction with a captured change");
            Struct bigEnd = (Struct) events.get(1).value();
            assertEquals(cEvents + 1, bigEnd.getInt64("event_count"), "END's event_count of " + big);
            assertEquals(List.of("public." + c + "=" + cEvents, "public." + d + "=1"), collections(bigEnd));
            assertNumbered(delivered, big, cEvents + 1, events.get(0), events.get(1));
            if (truncates) {
                assertEquals(List.of("public." + d + "=1"), collections((Struct) events.get(3).value()));
                assertNumbered(delivered, onlyTruncateOfD, 1, events.get(2), events.get(3));
            }
            List<String> ends = harness.transactionEnds().stream().map(r -> r.topic() + " "
                    + (r.value() instanceof Struct v && v.schema().field("status") != null ? v.getString("status")
                    : r.value())).toList();
            assertEquals(expected.size() / 2, ends.size(), "one Kafka transaction per PostgreSQL one: " + ends);
            assertTrue(ends.stream().allMatch(e -> e.equals(prefix + TX_TOPIC_SUFFIX + " END")),
                    "a Kafka transaction ends only on an END: " + ends);
        }
    }

    /**
     * A publication made by hand that carries an uncaptured table too (publication.autocreate=
     * disabled): the slot sends that table's changes, interleaved with the captured ones, first
     * and last in the transaction, and in one TRUNCATE with a captured table. They get no number
     * and no place in END; a transaction of only them has no BEGIN or END. Restart after each record.
     */
    @ParameterizedTest(name = "record.format={0}")
    @CsvSource({"row", "envelope"})
    void changesOfAPublishedUncapturedTableAreNeitherNumberedNorCounted(String format) throws Exception {
        String c = "pc_" + format.charAt(0), u = "pu_" + format.charAt(0);
        db.execute("CREATE TABLE " + c + " (id int PRIMARY KEY)", "CREATE TABLE " + u + " (id int PRIMARY KEY)");
        String name = slot("txpu" + format.charAt(0));
        db.execute("CREATE PUBLICATION " + name + " FOR TABLE " + c + ", " + u);
        String prefix = "txpu" + format.charAt(0);
        Map<String, String> config = WalFixture.walConfig(db, prefix, "public\\." + c, name, "never");
        config.put("publication.autocreate", "disabled");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        config.put("record.format", format);
        config.put("truncate.handling", "event");
        config.put("provide.transaction.metadata", "true");
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long mixed = TransactionEvents.inTransaction(db, "INSERT INTO " + u + " VALUES (1)",
                    "INSERT INTO " + c + " VALUES (1)", "INSERT INTO " + u + " VALUES (2)",
                    "UPDATE " + c + " SET id = 2 WHERE id = 1", "TRUNCATE " + u + ", " + c,
                    "INSERT INTO " + c + " VALUES (3)", "INSERT INTO " + u + " VALUES (3)",
                    "DELETE FROM " + u + " WHERE id = 3");
            TransactionEvents.inTransaction(db, "INSERT INTO " + u + " VALUES (10)", "TRUNCATE " + u);
            long last = TransactionEvents.inTransaction(db, "INSERT INTO " + c + " VALUES (20)");
            List<SourceRecord> delivered = pollRestartingAfterEach(harness, prefix + TX_TOPIC_SUFFIX, last);
            List<SourceRecord> events = transactionEvents(delivered, prefix + TX_TOPIC_SUFFIX);
            assertEquals(List.of("BEGIN " + mixed, "END " + mixed, "BEGIN " + last, "END " + last), statuses(events));
            // c: the insert, the key change's two halves, the truncate, the insert of 3.
            assertEquals(List.of("public." + c + "=5"), collections((Struct) events.get(1).value()));
            assertEquals(5L, ((Struct) events.get(1).value()).getInt64("event_count"));
            assertNumbered(delivered, mixed, 5, events.get(0), events.get(1));
            assertNumbered(delivered, last, 1, events.get(2), events.get(3));
            assertEquals(2, harness.transactionEnds().size(), "one Kafka transaction per PostgreSQL one");
        }
    }

    /**
     * An offset altered (as over REST: the connector's alterOffsets accepts it) to a transaction's
     * BEGIN, event -1: the next start sends that transaction's changes, numbered as the first
     * time, and its END, not its BEGIN again. Altered to its END (event 2n): nothing of it.
     */
    @Test
    void anOffsetAlteredToABeginResendsTheChangesAndTheEndOnly() throws Exception {
        db.execute("CREATE TABLE alt (id int PRIMARY KEY)");
        String name = slot("txal");
        Map<String, String> config = WalFixture.walConfig(db, "txal", "public\\.alt", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("provide.transaction.metadata", "true");
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long t = TransactionEvents.inTransaction(db, "INSERT INTO alt VALUES (1), (2), (3)");
            List<SourceRecord> first = pollUntilEndOf(harness, "txal.transaction", t);
            assertEquals(5, first.size(), "BEGIN, 3 changes, END: " + first);
            Map<String, ?> partition = first.get(0).sourcePartition();
            Map<String, Object> begin = new java.util.HashMap<>(first.get(0).sourceOffset());
            assertEquals(-1L, ((Number) begin.get("event")).longValue(), "BEGIN's offset " + begin);
            Map<String, Object> end = new java.util.HashMap<>(first.get(4).sourceOffset());

            assertTrue(new dev.pgkeyset.connect.PgKeysetSourceConnector().alterOffsets(config,
                    Map.of(partition, begin)), "alterOffsets accepts a BEGIN's offset");
            harness.stop();
            @SuppressWarnings("unchecked")
            Map<String, Object> slotPartition = (Map<String, Object>) partition;
            harness.committed().put(slotPartition, begin);
            harness.start();
            List<SourceRecord> again = pollUntilEndOf(harness, "txal.transaction", t);
            assertEquals(first.subList(1, 5).stream().map(r -> r.topic() + r.sourceOffset() + r.value()).toList(),
                    again.stream().map(r -> r.topic() + r.sourceOffset() + r.value()).toList(),
                    "the changes and END as the first time, no BEGIN");
            for (int i = 1; i < 4; i++) {
                assertEquals(List.of(place(first.get(i))), List.of(place(again.get(i - 1))), "numbers of change " + i);
            }

            harness.stop();
            harness.committed().put(slotPartition, end);
            harness.start();
            long next = TransactionEvents.inTransaction(db, "INSERT INTO alt VALUES (4)");
            List<SourceRecord> after = pollUntilEndOf(harness, "txal.transaction", next);
            assertEquals(List.of("BEGIN " + next, "END " + next), statuses(transactionEvents(after,
                    "txal.transaction")), "nothing of " + t + " after its END's offset");
            assertEquals(3, after.size(), "BEGIN, the insert of 4, END: " + after);
        }
    }

    private static List<SourceRecord> pollUntilEndOf(TaskHarness harness, String txTopic, long xid)
            throws InterruptedException {
        List<SourceRecord> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (transactionEvents(seen, txTopic).stream().noneMatch(r -> statuses(List.of(r)).get(0)
                .equals("END " + xid))) {
            assertTrue(System.nanoTime() < deadline, "END of " + xid + "; seen " + seen);
            add(harness.poll(), seen);
        }
        return seen;
    }

    /**
     * A column added to a captured table inside the transaction, between its changes (a Relation
     * message in the middle of the transaction, and the task restarted after every record, so
     * the plan read from today's catalog meets the transaction's older Relation first): the
     * events keep their numbers and END counts them.
     */
    @ParameterizedTest(name = "record.format={0}")
    @CsvSource({"row", "envelope"})
    void aColumnAddedInsideTheTransactionKeepsTheNumbering(String format) throws Exception {
        String c = "ddl_c_" + format.charAt(0), d = "ddl_d_" + format.charAt(0);
        db.execute("CREATE TABLE " + c + " (id int PRIMARY KEY, v text)", "CREATE TABLE " + d + " (id int PRIMARY KEY)");
        String name = slot("txdd" + format.charAt(0));
        String prefix = "txdd" + format.charAt(0);
        Map<String, String> config = WalFixture.walConfig(db, prefix, "public\\.(" + c + "|" + d + ")", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        config.put("record.format", format);
        config.put("provide.transaction.metadata", "true");
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long t = TransactionEvents.inTransaction(db, "INSERT INTO " + c + " VALUES (1, 'a')",
                    "INSERT INTO " + d + " VALUES (1)", "ALTER TABLE " + c + " ADD COLUMN w int",
                    "INSERT INTO " + c + " VALUES (2, 'b', 5)", "UPDATE " + c + " SET w = 6 WHERE id = 1");
            long last = TransactionEvents.inTransaction(db, "INSERT INTO " + d + " VALUES (2)");
            List<SourceRecord> delivered = pollRestartingAfterEach(harness, prefix + TX_TOPIC_SUFFIX, last);
            List<SourceRecord> events = transactionEvents(delivered, prefix + TX_TOPIC_SUFFIX);
            assertEquals(List.of("BEGIN " + t, "END " + t, "BEGIN " + last, "END " + last), statuses(events));
            assertEquals(List.of("public." + c + "=3", "public." + d + "=1"), collections((Struct) events.get(1).value()));
            assertNumbered(delivered, t, 4, events.get(0), events.get(1));
        }
    }

    /**
     * The chunked snapshot (snapshot.mode=initial) beside the stream while transactions of 3
     * inserts and 1 update run between polls, the task restarted every few polls, under
     * connector-defined Kafka transactions: snapshot rows carry no transaction block and never
     * sit between a BEGIN and its END; each writer transaction has one BEGIN, its 4 events and
     * one END; a Kafka transaction ends only on an END or on a chunk's last row.
     */
    @ParameterizedTest(name = "record.format={0}")
    @CsvSource({"envelope", "row"})
    void theChunkedSnapshotBesideTheStreamNeverSitsInsideATransaction(String format) throws Exception {
        int rows = 1_000;
        db.execute("CREATE TABLE snap_" + format + " (id int PRIMARY KEY, v int)",
                "INSERT INTO snap_" + format + " SELECT g, 0 FROM generate_series(1, " + rows + ") g");
        String name = slot("txsn" + format.charAt(0));
        String prefix = "txsn" + format.charAt(0), txTopic = prefix + TX_TOPIC_SUFFIX;
        Map<String, String> config = WalFixture.walConfig(db, prefix, "public\\.snap_" + format, name, "initial");
        config.put("poll.interval.ms", "10");
        config.put("snapshot.chunked", "true");
        config.put("snapshot.chunk.size", "50");
        config.put("batch.max.rows", "7");
        config.put("record.format", format);
        config.put("provide.transaction.metadata", "true");
        List<SourceRecord> seen = new ArrayList<>();
        List<Long> writers = new ArrayList<>();
        Set<Integer> snapshotIds = new HashSet<>();
        List<SourceRecord> ends = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            int polls = 0, next = rows + 1;
            while (snapshotIds.size() < rows || writers.size() < 20) {
                assertTrue(System.nanoTime() < deadline, "snapshot rows " + snapshotIds.size() + ", writers "
                        + writers.size());
                List<SourceRecord> records = harness.poll();
                add(records, seen);
                if (records != null) {
                    for (SourceRecord r : records) {
                        if (snapshotRow(r)) {
                            snapshotIds.add(((Struct) r.key()).getInt32("id"));
                        }
                    }
                }
                if (++polls % 3 == 0 && writers.size() < 40) {
                    writers.add(TransactionEvents.inTransaction(db,
                            "INSERT INTO snap_" + format + " VALUES (" + next + ", 1), (" + (next + 1) + ", 1), (" + (next + 2)
                                    + ", 1)",
                            "UPDATE snap_" + format + " SET v = v + 1 WHERE id = " + (1 + (polls * 37) % rows)));
                    next += 3;
                }
                if (polls % 11 == 0) {
                    harness.stop();
                    harness.start();
                }
            }
            long lastWriter = writers.get(writers.size() - 1);
            while (transactionEvents(seen, txTopic).stream().noneMatch(r -> statuses(List.of(r))
                    .get(0).equals("END " + lastWriter))) {
                assertTrue(System.nanoTime() < deadline, "END of the last writer transaction");
                add(harness.poll(), seen);
            }
            ends.addAll(harness.transactionEnds());
        }
        for (SourceRecord end : ends) {
            assertTrue(snapshotRow(end) || (end.topic().equals(txTopic)
                    && ((Struct) end.value()).getString("status").equals("END")),
                    "a Kafka transaction ends on an END or a snapshot row: " + end);
        }
        assertTrue(ends.stream().filter(r -> r.topic().equals(txTopic)).count() == writers.size(),
                "each END ends a Kafka transaction: " + ends.size());
        int firstEnd = -1, lastSnapshotRow = -1;
        for (int i = 0; i < seen.size(); i++) {
            if (firstEnd < 0 && seen.get(i).topic().equals(txTopic)) {
                firstEnd = i;
            }
            if (snapshotRow(seen.get(i))) {
                lastSnapshotRow = i;
            }
        }
        assertTrue(firstEnd >= 0 && firstEnd < lastSnapshotRow, "the stream's transactions came while the snapshot"
                + " ran (first transaction event " + firstEnd + ", last snapshot row " + lastSnapshotRow + ")");
        // Walk the records in delivery order: inside BEGIN x .. END x only x's own change events.
        Long open = null;
        List<String> problems = new ArrayList<>();
        for (SourceRecord r : seen) {
            Struct value = r.value() instanceof Struct v ? v : null;
            if (r.topic().equals(txTopic)) {
                String status = statuses(List.of(r)).get(0);
                long xid = xidOf(value.getString("id"));
                if (status.startsWith("BEGIN")) {
                    if (open != null) {
                        problems.add("BEGIN " + xid + " inside " + open);
                    }
                    open = xid;
                } else {
                    if (open == null || open != xid) {
                        problems.add("END " + xid + " while " + open + " is open");
                    }
                    assertEquals(4L, value.getInt64("event_count"), "END of " + xid);
                    open = null;
                }
            } else if (snapshotRow(r)) {
                if (place(r) != null) {
                    problems.add("snapshot row with a transaction block or headers: " + r);
                }
                if (open != null) {
                    problems.add("snapshot row " + r.key() + " inside transaction " + open);
                }
            } else if (r.key() != null) {
                long xid = xidOf(place(r));
                if (open == null || open != xid) {
                    problems.add("event of " + xid + " while " + open + " is open");
                }
            }
        }
        assertTrue(problems.isEmpty(), problems.size() + " problems, first: "
                + problems.subList(0, Math.min(10, problems.size())));
        List<SourceRecord> events = transactionEvents(seen, txTopic);
        List<String> expected = new ArrayList<>();
        for (long xid : writers) {
            expected.add("BEGIN " + xid);
            expected.add("END " + xid);
        }
        assertEquals(expected, statuses(events), "one BEGIN and one END per writer transaction, in commit order");
        for (int i = 0; i < events.size(); i += 2) {
            assertNumbered(seen, writers.get(i / 2), 4, events.get(i), events.get(i + 1));
        }
    }

    /** A snapshot chunk's row: op r (the envelope's op, or row format's pgkeyset.op header). */
    private static boolean snapshotRow(SourceRecord r) {
        if (r.value() instanceof Struct v && v.schema().field("op") != null) {
            return "r".equals(v.getString("op"));
        }
        Header op = r.headers().lastWithName("pgkeyset.op");
        return op != null && "r".equals(op.value()) && !r.topic().endsWith(TX_TOPIC_SUFFIX);
    }

    /**
     * The walsender is ended while a large transaction T is being read, after a small one S
     * whose records are not acknowledged (so the slot re-sends S first). Each gets one BEGIN and
     * one END, T's events are numbered 1..n once, and the Kafka transactions end on the two ENDs.
     */
    @Test
    void aWalsenderEndedInsideALargeTransactionKeepsOneBeginAndEndAndTheNumbering() throws Exception {
        int large = 20_000;
        db.execute("CREATE TABLE big (id int PRIMARY KEY, pad text)");
        String name = slot("txrc");
        Map<String, String> config = WalFixture.walConfig(db, "txrc", "public\\.big", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "500");
        config.put("retry.backoff.ms", "50");
        config.put("provide.transaction.metadata", "true");
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            TransactionEvents.awaitStreaming(db, harness, name, TIMEOUT);
            long small = TransactionEvents.inTransaction(db, "INSERT INTO big SELECT g, 's' FROM generate_series(1, 3) g");
            long t = TransactionEvents.inTransaction(db, "INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(4, "
                    + (large + 3) + ") g");
            List<SourceRecord> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (seen.stream().noneMatch(r -> r.topic().equals("txrc.public.big") && xidOf(place(r)) == t)) {
                assertTrue(System.nanoTime() < deadline, "first records of T");
                add(harness.poll(), seen);
            }
            assertTrue(seen.size() < large, "T not read whole before the reconnect: " + seen.size());
            assertEquals(1, db.queryLong("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + name + "' AND active_pid IS NOT NULL"), "walsender terminated");
            while (transactionEvents(seen, "txrc.transaction").size() < 4) {
                assertTrue(System.nanoTime() < deadline, "all records; seen " + seen.size());
                add(harness.poll(), seen);
            }
            Set<Map<String, ?>> offsets = new HashSet<>();
            for (SourceRecord r : seen) {
                assertTrue(offsets.add(r.sourceOffset()), "delivered once: " + r.topic() + " " + r.sourceOffset());
            }
            List<SourceRecord> events = transactionEvents(seen, "txrc.transaction");
            assertEquals(List.of("BEGIN " + small, "END " + small, "BEGIN " + t, "END " + t), statuses(events));
            assertEquals(large, ((Struct) events.get(3).value()).getInt64("event_count"));
            assertNumbered(seen, small, 3, events.get(0), events.get(1));
            assertNumbered(seen, t, large, events.get(2), events.get(3));
            assertEquals(List.of(events.get(1), events.get(3)), harness.transactionEnds(),
                    "the Kafka transactions end on S's END and T's END");
        }
    }

    // ---- helpers ----

    /**
     * Polls, restarting the task after every poll that returned records, until END of
     * transaction {@code lastXid} came and nothing more for 2 s; fails on a record delivered twice.
     */
    private static List<SourceRecord> pollRestartingAfterEach(TaskHarness harness, String txTopic, long lastXid)
            throws InterruptedException {
        List<SourceRecord> delivered = new ArrayList<>();
        Set<Map<String, ?>> offsets = new HashSet<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        boolean lastEnded = false;
        long quietSince = System.nanoTime();
        while (!lastEnded || System.nanoTime() - quietSince < Duration.ofSeconds(2).toNanos()) {
            assertTrue(System.nanoTime() < deadline, "records; seen " + delivered.size());
            List<SourceRecord> records = harness.poll();
            if (records == null) {
                continue;
            }
            quietSince = System.nanoTime();
            for (SourceRecord r : records) {
                assertTrue(offsets.add(Map.of("p", r.sourcePartition(), "o", r.sourceOffset())),
                        "delivered twice: " + r.topic() + " " + r.sourceOffset());
                delivered.add(r);
                if (r.topic().equals(txTopic) && ((Struct) r.value()).getString("status").equals("END")
                        && xidOf(((Struct) r.value()).getString("id")) == lastXid) {
                    lastEnded = true;
                }
            }
            harness.stop();
            harness.start();
        }
        return delivered;
    }
}
