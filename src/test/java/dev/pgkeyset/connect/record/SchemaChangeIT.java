package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.data.Schema;
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
 * Columns added, dropped and retyped while a table streams: the next records carry the new schema,
 * no row is lost or repeated, the task keeps running, and the DDL is not held up by the open
 * cursor for longer than about a second (the reader lets go when it sees the DDL waiting).
 */
class SchemaChangeIT {

    private static final int ROWS = 60_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("schema_change");
        db.execute("CREATE TABLE items (id int PRIMARY KEY, a int NOT NULL, b text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON items (updated_at, id)",
                // Written well before the snapshot's hand-off point, so the change phase does not read them again.
                "INSERT INTO items (id, a, b, updated_at) SELECT g, g, 'b' || g, now() - interval '1 hour'"
                        + " FROM generate_series(1, " + ROWS + ") g");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private Map<String, String> props(String mode) {
        Map<String, String> props = db.connectorConfig("s", "public\\.items");
        props.put("snapshot.mode", mode);
        props.put("incremental.column", "updated_at");
        props.put("batch.max.rows", "250");
        props.put("fetch.size", "250");
        props.put("poll.interval.ms", "50");
        return props;
    }

    /** Runs the DDL on another session while polling, as a DBA would; returns how long it waited. */
    private long ddlWhilePolling(TaskHarness harness, List<SourceRecord> into, String ddl) throws Exception {
        long start = System.nanoTime();
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> db.execute(ddl));
        long deadline = start + TIMEOUT.toNanos();
        while (!done.isDone()) {
            assertTrue(System.nanoTime() < deadline, "DDL still waiting: " + ddl);
            Thread.sleep(50); // a worker busy sending: the snapshot must not end before the DDL does
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
        done.get(1, TimeUnit.SECONDS);
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static void pollAtLeast(TaskHarness harness, List<SourceRecord> into, int count) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (into.size() < count) {
            assertTrue(System.nanoTime() < deadline, "records so far: " + into.size());
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }

    private static int id(SourceRecord record) {
        return ((Struct) record.key()).getInt32("id");
    }

    @Test
    void columnsAddedDroppedAndRetypedMidSnapshotShowInTheNextRecords() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props("initial_only")).start()) {
            pollAtLeast(harness, records, 2_000);
            long addWait = ddlWhilePolling(harness, records, "ALTER TABLE items ADD COLUMN c text DEFAULT 'new'");
            int afterAdd = records.size();
            pollAtLeast(harness, records, afterAdd + 4_000);
            long dropWait = ddlWhilePolling(harness, records, "ALTER TABLE items DROP COLUMN b");
            int afterDrop = records.size();
            pollAtLeast(harness, records, afterDrop + 4_000);
            long widenWait = ddlWhilePolling(harness, records, "ALTER TABLE items ALTER COLUMN a TYPE bigint");
            pollAtLeast(harness, records, ROWS);
            // Anything more would be a duplicate.
            for (int i = 0; i < 10; i++) {
                List<SourceRecord> more = harness.poll();
                if (more != null) {
                    records.addAll(more);
                }
                Thread.sleep(20);
            }
            System.out.printf("DDL waited %d / %d / %d ms behind the open cursor%n", addWait, dropWait, widenWait);
            for (long wait : new long[] {addWait, dropWait, widenWait}) {
                assertTrue(wait < 10_000, "the reader lets DDL through within seconds, not cursor.max.age: " + wait);
            }
        }
        Set<Integer> ids = new HashSet<>();
        for (SourceRecord record : records) {
            assertTrue(ids.add(id(record)), "row " + id(record) + " arrived twice");
        }
        assertEquals(ROWS, ids.size(), "every row arrived");

        SourceRecord first = records.get(0);
        assertNull(first.valueSchema().field("c"), "before the change: no column c");
        assertEquals(Schema.Type.INT32, first.valueSchema().field("a").schema().type());
        SourceRecord last = records.get(records.size() - 1);
        assertEquals(ROWS, id(last), "key order kept across the changes");
        Struct value = (Struct) last.value();
        assertEquals("new", value.getString("c"), "added column, with its default");
        assertNull(last.valueSchema().field("b"), "dropped column gone from the schema");
        assertEquals(Schema.Type.INT64, last.valueSchema().field("a").schema().type(), "widened to bigint");
        assertEquals((long) ROWS, value.getInt64("a"));
        // Every record's value matches its own schema (Struct validated it), and the schemas change
        // only at the three DDL points, in order.
        List<Schema> schemas = new ArrayList<>();
        for (SourceRecord record : records) {
            if (schemas.isEmpty() || !schemas.get(schemas.size() - 1).equals(record.valueSchema())) {
                schemas.add(record.valueSchema());
            }
        }
        assertEquals(4, schemas.size(), "one schema per table shape: " + schemas.size());
    }

    @Test
    void changesAfterAColumnIsAddedCarryIt() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props("initial")).start()) {
            harness.pollUntilIdle(records::add);
            assertEquals(ROWS, records.size());
            db.execute("ALTER TABLE items ADD COLUMN tag text", "ALTER TABLE items DROP COLUMN b",
                    "UPDATE items SET tag = 'changed', updated_at = now() WHERE id <= 10");
            List<SourceRecord> changes = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (changes.size() < 10) {
                assertTrue(System.nanoTime() < deadline, "changes so far: " + changes.size());
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    changes.addAll(batch);
                }
            }
            for (SourceRecord change : changes) {
                Struct value = (Struct) change.value();
                assertEquals("changed", value.getString("tag"), "row " + id(change));
                assertNull(change.valueSchema().field("b"));
            }
            assertEquals(10, changes.stream().map(SchemaChangeIT::id).distinct().count());
        }
    }

    @Test
    void droppingTheKeyColumnFailsNamingTheTable() throws Exception {
        try (TaskHarness harness = new TaskHarness(props("initial")).start()) {
            assertNotNull(harness.poll());
            harness.pollUntilIdle(r -> { });
            db.execute("ALTER TABLE items DROP COLUMN id");
            ConnectException e = org.junit.jupiter.api.Assertions.assertThrows(ConnectException.class, () -> {
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (System.nanoTime() < deadline) {
                    harness.poll();
                }
            });
            assertTrue(e.getMessage().contains("public.items") && e.getMessage().contains("id"), e.getMessage());
        }
    }
    /**
     * capture.mode=wal: columns added, dropped and retyped between changes: each change record
     * carries the table's columns as the WAL's Relation message gave them at that change, its
     * values equal the row (as PostgreSQL prints it), and the schema changes exactly at the DDL.
     */
    @Test
    void walChangesFollowColumnsAddedDroppedAndRetyped() throws Exception {
        String slot = dev.pgkeyset.connect.testing.WalFixture.uniqueName("schema");
        Map<String, String> props = dev.pgkeyset.connect.testing.WalFixture.walConfig(db, "s", "public\\.items", slot,
                "never");
        List<SourceRecord> changes = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            // The stream opens at the first poll.
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + slot
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot " + slot + " not streamed");
                assertNull(harness.poll(), "nothing changed yet");
            }
            db.execute("UPDATE items SET a = a + 1 WHERE id <= 5");
            pollAtLeast(harness, changes, 5);
            db.execute("ALTER TABLE items ADD COLUMN c text DEFAULT 'new'", "UPDATE items SET a = a + 1 WHERE id BETWEEN 6 AND 10");
            pollAtLeast(harness, changes, 10);
            db.execute("ALTER TABLE items DROP COLUMN b", "UPDATE items SET c = 'c' || id WHERE id BETWEEN 11 AND 15");
            pollAtLeast(harness, changes, 15);
            db.execute("ALTER TABLE items ALTER COLUMN a TYPE bigint", "UPDATE items SET a = a * 1000000000 WHERE id BETWEEN 16 AND 20",
                    "INSERT INTO items (id, a) VALUES (" + (ROWS + 1) + ", 7)");
            pollAtLeast(harness, changes, 21);
            for (int i = 0; i < 5; i++) {
                List<SourceRecord> more = harness.poll();
                if (more != null) {
                    changes.addAll(more);
                }
            }
        } finally {
            dev.pgkeyset.connect.testing.WalFixture.dropSlotAndPublication(db, slot);
        }
        assertEquals(21, changes.size(), "one record per change");
        List<Schema> schemas = new ArrayList<>();
        for (SourceRecord change : changes) {
            if (schemas.isEmpty() || !schemas.get(schemas.size() - 1).equals(change.valueSchema())) {
                schemas.add(change.valueSchema());
            }
        }
        assertEquals(4, schemas.size(), "one schema per table shape, in order");
        int mismatches = 0;
        try (java.sql.Connection c = db.connect(); java.sql.Statement st = c.createStatement()) {
            for (SourceRecord change : changes) {
                int id = id(change);
                Struct value = (Struct) change.value();
                try (java.sql.ResultSet rs = st.executeQuery("SELECT a::text, c, updated_at IS NOT NULL FROM items "
                        + "WHERE id = " + id)) {
                    rs.next();
                    if (!rs.getString(1).equals(String.valueOf(value.get("a")))) {
                        mismatches++;
                        System.out.println("row " + id + " a: " + rs.getString(1) + " vs " + value.get("a"));
                    }
                    Object c1 = change.valueSchema().field("c") == null ? null : value.get("c");
                    boolean cExpected = id > 5;
                    if (cExpected != (change.valueSchema().field("c") != null)
                            || (cExpected && !rs.getString(2).equals(c1))) {
                        mismatches++;
                        System.out.println("row " + id + " c: " + rs.getString(2) + " vs " + c1);
                    }
                }
                boolean bExpected = id <= 10;
                if (bExpected != (change.valueSchema().field("b") != null)) {
                    mismatches++;
                    System.out.println("row " + id + ": field b " + (bExpected ? "missing" : "still there"));
                }
                Schema.Type aType = id > 15 ? Schema.Type.INT64 : Schema.Type.INT32;
                if (change.valueSchema().field("a").schema().type() != aType) {
                    mismatches++;
                    System.out.println("row " + id + ": a is " + change.valueSchema().field("a").schema().type());
                }
            }
        }
        assertEquals(0, mismatches, "mismatches");
    }
}
