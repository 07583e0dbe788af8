package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The change phase against a real PostgreSQL, poll by poll: late commits by long transactions,
 * ties on one tracking value across batches, writes during the snapshot, restarts, soft deletes.
 */
class ChangePhaseIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("change_phase");
        db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, note text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now(), deleted boolean NOT NULL DEFAULT false)",
                "CREATE INDEX orders_updated_at ON orders (updated_at, id)");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private Map<String, String> props(String mode) {
        Map<String, String> props = db.connectorConfig("c", "public\\.orders");
        props.put("snapshot.mode", mode);
        props.put("incremental.column", "updated_at");
        props.put("soft.delete.column", "deleted");
        props.put("poll.interval.ms", "50");
        return props;
    }

    private static long id(SourceRecord record) {
        return ((Struct) record.key()).getInt64("id");
    }

    private static String op(SourceRecord record) {
        return record.headers().lastWithName("pgkeyset.op").value().toString();
    }

    /** Polls until {@code done} holds, collecting every record. */
    private static void pollUntil(TaskHarness harness, List<SourceRecord> into, BooleanSupplier done)
            throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; records so far: " + into.size());
            }
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }

    /** Polls for a while, collecting whatever comes (e.g. to show that nothing does). */
    private static void pollFor(TaskHarness harness, List<SourceRecord> into, Duration duration)
            throws InterruptedException {
        long deadline = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < deadline) {
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }

    private static long distinctIds(List<SourceRecord> records) {
        return records.stream().map(ChangePhaseIT::id).distinct().count();
    }

    @Test
    void aRowCommittedLateByALongTransactionIsNotSkipped() throws Exception {
        Map<String, String> props = props("never");
        try (TaskHarness harness = new TaskHarness(props).start();
             Connection longTx = db.connect()) {
            List<SourceRecord> records = new ArrayList<>();
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                // now() is this transaction's start: the row's tracking value is older than all below.
                st.execute("INSERT INTO orders (id, note) VALUES (0, 'late')");
            }
            for (int i = 1; i <= 200; i++) {
                db.execute("INSERT INTO orders (id, note) VALUES (" + i + ", 'quick')");
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            // Held at the long transaction's start: nothing newer than it may pass yet.
            pollFor(harness, records, Duration.ofSeconds(3));
            assertEquals(0, records.size(), "no row may pass the horizon of a still-open transaction");
            longTx.commit();
            pollUntil(harness, records, () -> distinctIds(records) == 201);
            assertEquals(201, records.size(), "each row once");
            assertEquals(0L, id(records.get(0)), "the late row comes first, in tracking order");
            records.forEach(r -> assertEquals("u", op(r)));
        }
    }

    @Test
    void aThousandRowsSharingOneTrackingValueArriveOnceInBatchesOfSeven() throws Exception {
        db.execute("INSERT INTO orders (id, note) SELECT g, 'tie' FROM generate_series(1, 1000) g");
        Map<String, String> props = props("never");
        props.put("batch.max.rows", "7");
        assertEquals(1, db.queryLong("SELECT count(DISTINCT updated_at) FROM orders"), "one tracking value");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> records = new ArrayList<>();
            pollUntil(harness, records, () -> records.size() >= 1000);
            pollFor(harness, records, Duration.ofMillis(500));
            assertEquals(1000, records.size(), "no loss, no endless re-read");
            for (int i = 0; i < 1000; i++) {
                assertEquals(i + 1, id(records.get(i)), "key order within the tie");
            }
        }
    }

    @Test
    void writesDuringTheSnapshotArriveAndTheChangePhaseFollows() throws Exception {
        db.execute("INSERT INTO orders (id, note, updated_at) SELECT g, 'old', now() - interval '1 day'"
                + " FROM generate_series(1, 5000) g");
        Map<String, String> props = props("initial");
        props.put("batch.max.rows", "500");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> records = new ArrayList<>(harness.poll());
            assertEquals(500, records.size());
            records.forEach(r -> assertEquals("r", op(r)));
            // During the snapshot: update rows already copied and one still ahead; insert new rows.
            db.execute("UPDATE orders SET note = 'changed', updated_at = now() WHERE id IN (1, 2, 4500)",
                    "INSERT INTO orders (id, note) SELECT g, 'new' FROM generate_series(9001, 9010) g");
            pollUntil(harness, records, () -> records.stream().filter(r -> op(r).equals("u")).count() >= 13);
            List<Long> snapshotIds = records.stream().filter(r -> op(r).equals("r")).map(ChangePhaseIT::id).toList();
            assertTrue(snapshotIds.containsAll(List.of(1L, 2L, 4500L)) && snapshotIds.size() >= 5000,
                    "the snapshot copied every row present at its start");
            Map<Long, String> changes = new HashMap<>();
            records.stream().filter(r -> op(r).equals("u"))
                    .forEach(r -> changes.put(id(r), ((Struct) r.value()).getString("note")));
            assertEquals("changed", changes.get(1L));
            assertEquals("changed", changes.get(2L));
            assertEquals("changed", changes.get(4500L));
            for (long id = 9001; id <= 9010; id++) {
                assertTrue(changes.containsKey(id), "row " + id + " inserted during the snapshot");
            }
            SourceRecord lastSnapshot = records.stream().filter(r -> op(r).equals("r")).reduce((a, b) -> b).get();
            assertEquals("snapshot_complete", lastSnapshot.sourceOffset().get("phase"));
            assertTrue(lastSnapshot.sourceOffset().get("changes_from") instanceof String, "hand-off recorded");
        }
    }

    @Test
    void aRestartInTheChangePhaseReadsOnlyWhatIsNew() throws Exception {
        db.execute("INSERT INTO orders (id, note, updated_at) SELECT g, 'a', now() - interval '1 hour'"
                + " FROM generate_series(1, 300) g");
        Map<String, String> props = props("initial");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> first = new ArrayList<>();
            pollUntil(harness, first, () -> first.size() >= 300);
            Thread.sleep(300);
            assertNull(harness.poll(), "caught up: the change phase finds nothing new");
            harness.stop();

            db.execute("INSERT INTO orders (id, note) SELECT g, 'b' FROM generate_series(301, 350) g",
                    "UPDATE orders SET note = 'c', updated_at = now() WHERE id = 7");
            harness.start();
            List<SourceRecord> second = new ArrayList<>();
            pollUntil(harness, second, () -> second.size() >= 51);
            pollFor(harness, second, Duration.ofMillis(500));
            List<Long> ids = second.stream().map(ChangePhaseIT::id).sorted().toList();
            List<Long> expected = new ArrayList<>(List.of(7L));
            for (long id = 301; id <= 350; id++) {
                expected.add(id);
            }
            assertEquals(expected, ids, "after the restart: the new and the changed rows, nothing else");
        }
    }

    @Test
    void aSoftDeletedRowBecomesATombstone() throws Exception {
        db.execute("INSERT INTO orders (id, note, updated_at) VALUES (1, 'keep', now() - interval '1 hour'),"
                + " (2, 'drop', now() - interval '1 hour')");
        try (TaskHarness harness = new TaskHarness(props("initial")).start()) {
            List<SourceRecord> records = new ArrayList<>();
            pollUntil(harness, records, () -> records.size() >= 2);
            db.execute("UPDATE orders SET deleted = true, updated_at = now() WHERE id = 2");
            pollUntil(harness, records, () -> records.stream().anyMatch(r -> op(r).equals("d")));
            SourceRecord tombstone = records.stream().filter(r -> op(r).equals("d")).findFirst().get();
            assertEquals(2L, id(tombstone));
            assertNull(tombstone.value());
            assertNull(tombstone.valueSchema());
        }
    }

    @Test
    void neverFromNowSkipsExistingRows() throws Exception {
        db.execute("INSERT INTO orders (id, note, updated_at) SELECT g, 'old', now() - interval '1 hour'"
                + " FROM generate_series(1, 100) g");
        Map<String, String> props = props("never");
        props.put("incremental.start", "now");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            assertNull(harness.poll(), "nothing before now");
            db.execute("INSERT INTO orders (id, note) VALUES (101, 'new')");
            List<SourceRecord> records = new ArrayList<>();
            pollUntil(harness, records, () -> !records.isEmpty());
            assertEquals(List.of(101L), records.stream().map(ChangePhaseIT::id).toList());
        }
    }

    @Test
    void aSequenceValueTakenEarlyAndCommittedLateIsNotSkipped() throws Exception {
        db.execute("CREATE SEQUENCE version_seq",
                "CREATE TABLE versioned (id bigint PRIMARY KEY, note text,"
                        + " version bigint NOT NULL DEFAULT nextval('version_seq'))",
                "CREATE INDEX ON versioned (version, id)");
        Map<String, String> props = db.connectorConfig("c", "public\\.versioned");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.versioned:version");
        props.put("poll.interval.ms", "50");
        try (TaskHarness harness = new TaskHarness(props).start();
             Connection longTx = db.connect()) {
            List<SourceRecord> records = new ArrayList<>();
            harness.poll();
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("INSERT INTO versioned (id, note) VALUES (0, 'late')"); // takes version 1
            }
            for (int i = 1; i <= 200; i++) {
                db.execute("INSERT INTO versioned (id, note) VALUES (" + i + ", 'quick')");
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            pollFor(harness, records, Duration.ofSeconds(2));
            assertEquals(0, records.size(), "values above one taken by a still-open transaction are held back");
            longTx.commit();
            pollUntil(harness, records, () -> distinctIds(records) == 201);
            assertEquals(201, records.size(), "each row once");
            assertEquals(0L, id(records.get(0)), "the late row (version 1) comes first");
        }
    }

    @Test
    void aTrackingColumnThatCannotBeOrderedIsRefusedNamingIt() {
        Map<String, String> props = props("initial");
        props.put("incremental.column", "note");
        ConnectException e = assertThrows(ConnectException.class, () -> new TaskHarness(props).start());
        assertTrue(e.getMessage().contains("public.orders.note") && e.getMessage().contains("cannot track"),
                e.getMessage());
    }

    @Test
    void aDroppedTableStopsBeingReadWithoutFailingTheTask() throws Exception {
        db.execute("CREATE TABLE doomed (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO orders (id, note, updated_at) VALUES (1, 'a', now() - interval '1 hour')",
                "INSERT INTO doomed (id, updated_at) VALUES (1, now() - interval '1 hour')");
        Map<String, String> props = db.connectorConfig("c", "public\\.(orders|doomed)");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> records = new ArrayList<>();
            pollUntil(harness, records, () -> records.size() >= 2);
            db.execute("DROP TABLE doomed");
            db.execute("INSERT INTO orders (id, note) VALUES (2, 'after the drop')");
            pollUntil(harness, records, () -> records.stream().anyMatch(r -> id(r) == 2L));
            assertTrue(records.stream().anyMatch(r -> r.topic().equals("c.public.doomed")));
        }
    }
}
