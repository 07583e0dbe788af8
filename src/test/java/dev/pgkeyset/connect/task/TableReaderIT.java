package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/** The task against a real PostgreSQL, driven poll by poll: batches, cursor reopening, errors, resume. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TableReaderIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("table_reader");
        db.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items SELECT g, repeat('x', 200) || g FROM generate_series(1, 20000) g",
                "CREATE TABLE pairs (a text, b int, PRIMARY KEY (a, b))",
                "INSERT INTO pairs SELECT chr(97 + g % 5), g FROM generate_series(1, 3000) g",
                "CREATE TABLE nullable_key (code text, v int)",
                "INSERT INTO nullable_key VALUES ('a', 1), (NULL, 2)",
                "CREATE TABLE empty (id int PRIMARY KEY)",
                "CREATE TABLE soft (id int PRIMARY KEY, deleted boolean NOT NULL DEFAULT false,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO soft (id) VALUES (1), (2), (3)");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private Map<String, String> props(String include) {
        Map<String, String> props = db.connectorConfig("t", include);
        props.put("poll.interval.ms", "10");
        return props;
    }

    private static int id(SourceRecord record) {
        return ((Struct) record.key()).getInt32("id");
    }

    @Test
    void batchesRespectRowAndByteBounds() throws Exception {
        Map<String, String> props = props("public\\.items");
        props.put("batch.max.rows", "700");
        props.put("batch.max.bytes", "50000");
        props.put("fetch.size", "300");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<Integer> ids = new ArrayList<>();
            List<SourceRecord> batch;
            int batches = 0;
            while ((batch = harness.poll()) != null) {
                batches++;
                assertTrue(batch.size() <= 700, "rows per poll");
                long bytes = batch.stream().mapToLong(r -> ((Struct) r.value()).getString("label").length()).sum();
                assertTrue(bytes <= 50000, "bytes per poll: " + bytes);
                batch.forEach(r -> ids.add(id(r)));
            }
            assertEquals(20000, ids.size());
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(i + 1, ids.get(i), "key order, each once");
            }
            assertTrue(batches > 20000 * 210 / 50000, "the byte bound split the table into many polls: " + batches);
        }
    }

    @Test
    void lastRecordMarksTheSnapshotCompleteAndARestartReadsNothing() throws Exception {
        Map<String, String> props = props("public\\.pairs");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> all = new ArrayList<>();
            harness.pollUntilIdle(all::add);
            assertEquals(3000, all.size());
            for (int i = 0; i < all.size() - 1; i++) {
                assertEquals("snapshot", all.get(i).sourceOffset().get("phase"));
            }
            assertEquals("snapshot_complete", all.get(all.size() - 1).sourceOffset().get("phase"));
            assertEquals("[\"e\",2999]", all.get(all.size() - 1).sourceOffset().get("key"));
            assertEquals("[\"a\",\"b\"]", all.get(0).sourceOffset().get("key_columns"));

            harness.stop();
            harness.start();
            assertEquals(null, harness.poll(), "a completed table is not read again");
        }
    }

    @Test
    void resumesBetweenTwoCompositeKeysAfterARestart() throws Exception {
        Map<String, String> props = props("public\\.pairs");
        props.put("batch.max.rows", "1000");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<String> keys = new ArrayList<>();
            harness.poll().forEach(r -> keys.add(key(r)));
            harness.stop();
            harness.start();
            harness.pollUntilIdle(r -> keys.add(key(r)));
            List<String> expected = new ArrayList<>();
            try (Connection c = db.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT a, b FROM pairs ORDER BY a, b")) {
                while (rs.next()) {
                    expected.add(rs.getString(1) + "/" + rs.getInt(2));
                }
            }
            assertEquals(expected, keys, "each key once, in key order, across the restart");
        }
    }

    private static String key(SourceRecord record) {
        Struct key = (Struct) record.key();
        return key.getString("a") + "/" + key.getInt32("b");
    }

    @Test
    void terminatedBackendsAreRetriedAndTheCursorReopensAfterTheLastKeyRead() throws Exception {
        Map<String, String> props = props("public\\.items");
        props.put("batch.max.rows", "1000");
        props.put("fetch.size", "500");
        props.put("retry.backoff.ms", "20");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<Integer> ids = new ArrayList<>();
            int terminated = 0;
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
            while (ids.size() < 20000 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    batch.forEach(r -> ids.add(id(r)));
                    // Three times, in the middle of the table, the backend holding the cursor dies.
                    if (terminated < 3 && ids.size() >= 4000 * (terminated + 1)) {
                        terminated += terminateConnectorBackends();
                    }
                }
            }
            assertEquals(3, terminated, "three backends terminated mid-read");
            assertEquals(20000, ids.size(), "no row lost, none twice");
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(i + 1, ids.get(i));
            }
        }
    }

    @Test
    void tooManyTransientErrorsInARowFailTheTaskNamingTheTable() throws Exception {
        String role = "pgkeyset_limited_" + Long.toHexString(System.nanoTime());
        db.execute("CREATE ROLE " + role + " LOGIN", "GRANT SELECT ON items TO " + role);
        try {
            Map<String, String> props = props("public\\.items");
            props.put("connection.user", role);
            props.remove("connection.password");
            props.put("batch.max.rows", "1000");
            props.put("connection.attempts", "3");
            props.put("retry.backoff.ms", "20");
            try (TaskHarness harness = new TaskHarness(props).start()) {
                assertEquals(1000, harness.poll().size());
                // From now on every new connection fails with 53300 too_many_connections: transient.
                db.execute("ALTER ROLE " + role + " CONNECTION LIMIT 0");
                assertEquals(1, terminateConnectorBackends());
                ConnectException e = assertThrows(ConnectException.class, () -> {
                    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
                    while (System.nanoTime() < deadline) {
                        harness.poll();
                    }
                });
                assertTrue(e.getMessage().contains("public.items") && e.getMessage().contains("3 times in a row"),
                        e.getMessage());
            }
        } finally {
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'",
                    "REVOKE ALL ON items FROM " + role, "DROP ROLE " + role);
        }
    }

    @Test
    void anOldCursorIsReplacedByANewTransaction() throws Exception {
        Map<String, String> props = props("public\\.items");
        props.put("batch.max.rows", "1000");
        props.put("cursor.max.age.ms", "1000");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<Integer> ids = new ArrayList<>();
            harness.poll().forEach(r -> ids.add(id(r)));
            String firstTransaction = connectorTransactionStart();
            assertNotNull(firstTransaction, "the cursor's transaction is open between polls");
            Thread.sleep(1200);
            harness.poll().forEach(r -> ids.add(id(r)));
            String secondTransaction = connectorTransactionStart();
            assertNotEquals(firstTransaction, secondTransaction, "cursor reopened in a new transaction");
            harness.pollUntilIdle(r -> ids.add(id(r)));
            assertEquals(20000, ids.size());
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(i + 1, ids.get(i));
            }
        }
    }

    @Test
    void aNullKeyValueStopsTheTableNamingTheColumn() throws Exception {
        Map<String, String> props = props("public\\.nullable_key");
        props.put("key.columns", "public.nullable_key:code");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            ConnectException e = assertThrows(ConnectException.class, () -> harness.pollUntilIdle(r -> { }));
            assertTrue(e.getMessage().contains("public.nullable_key") && e.getMessage().contains("'code'"),
                    e.getMessage());
        }
    }

    @Test
    void anEmptyTableCompletesWithoutRecords() throws Exception {
        try (TaskHarness harness = new TaskHarness(props("public\\.empty")).start()) {
            assertEquals(0, harness.pollUntilIdle(r -> { }));
        }
    }

    @Test
    void aTableWithoutKeyIsRefusedNamingIt() {
        ConnectException e = assertThrows(ConnectException.class,
                () -> new TaskHarness(props("public\\.nullable_key")).start());
        assertTrue(e.getMessage().contains("public.nullable_key") && e.getMessage().contains("key.columns"),
                e.getMessage());
    }

    private int terminateConnectorBackends() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND application_name LIKE 'kafka-connect-pg-keyset%'"
                     + " AND state <> 'idle'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private String connectorTransactionStart() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT xact_start::text FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND application_name LIKE 'kafka-connect-pg-keyset%'"
                     + " AND xact_start IS NOT NULL")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    @Test
    void anEnvelopeDeleteEventKeepsTheOffsetBeforeItSoItsTombstoneCannotBeLost() throws Exception {
        // Connect may commit the delete event's offset before the tombstone after it is acknowledged:
        // were they the same, a crash between the two would resume past the row without its tombstone.
        Map<String, String> props = props("public\\.soft");
        props.put("record.format", "envelope");
        props.put("soft.delete.column", "deleted");
        props.put("incremental.column", "updated_at");
        props.put("snapshot.mode", "initial");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> records = new ArrayList<>();
            long deadline = System.nanoTime() + 60_000_000_000L;
            boolean deleted = false;
            while (records.size() < 5 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
                if (records.size() == 3 && !deleted) {
                    db.execute("UPDATE soft SET deleted = true, updated_at = clock_timestamp() WHERE id = 2");
                    deleted = true;
                }
            }
            assertEquals(List.of(1, 2, 3, 2, 2), records.stream().map(TableReaderIT::id).toList());
            SourceRecord before = records.get(2);
            SourceRecord deleteEvent = records.get(3);
            SourceRecord tombstone = records.get(4);
            assertEquals("d", ((Struct) deleteEvent.value()).getString("op"));
            assertEquals(null, tombstone.value());
            assertEquals(before.sourceOffset(), deleteEvent.sourceOffset(), "the delete event keeps the offset before");
            assertNotEquals(before.sourceOffset(), tombstone.sourceOffset(), "the tombstone carries the row's own");
            assertEquals("incremental", tombstone.sourceOffset().get("phase"), String.valueOf(tombstone.sourceOffset()));
        }
    }
}
