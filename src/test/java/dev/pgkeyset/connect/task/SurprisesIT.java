package dev.pgkeyset.connect.task;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Things a DBA does to a table while the connector reads it, each with the outcome the README
 * promises: a rename (the old name stops, the new one is copied as a new table), a revoked SELECT
 * (the task fails saying so), a {@code statement_timeout} on the connector's role (retried while
 * rows move, a clear failure when none do), a {@code TRUNCATE} mid-snapshot (the snapshot ends
 * with what it read, changes go on).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SurprisesIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private final String suffix = Long.toHexString(System.nanoTime());
    /** A non-superuser the connector logs in as, where a test needs privileges or role settings. */
    private final String reader = "pgkeyset_reader_" + suffix;
    private final String paced = "pgkeyset_paced_" + suffix;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("surprises");
        db.execute("CREATE ROLE " + reader + " LOGIN", "GRANT pg_read_all_stats TO " + reader,
                "CREATE ROLE " + paced + " LOGIN",
                // 100 ms per statement for this role only: each fetch of the cursor is one statement.
                "ALTER ROLE " + paced + " SET statement_timeout = '100ms'");
        connect = ConnectFixture.start("surprises", Map.of(
                // A small producer buffer: a throttled broker then holds the task (and its cursor)
                // mid-snapshot instead of the whole table waiting in the worker's memory.
                "producer.buffer.memory", "1048576"));
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                connect.stop();
            }
        } finally {
            if (db != null) {
                try {
                    for (String role : List.of(reader, paced)) {
                        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"
                                + role + "'", "DROP OWNED BY " + role, "DROP ROLE " + role);
                    }
                } finally {
                    db.close();
                }
            }
        }
    }

    private static int id(SourceRecord record) {
        return ((Struct) record.key()).getInt32("id");
    }

    private Map<String, String> asRole(Map<String, String> config, String role) {
        config.put("connection.user", role);
        config.remove("connection.password");
        return config;
    }

    /**
     * ALTER TABLE … RENAME mid-snapshot: the reader of the old name meets 42P01 when it reopens its
     * cursor and stops reading it without failing the task; discovery then finds the new name
     * (it matches the include list) and the connector reconfigures its tasks, which copy it from
     * the start into its own topic — it is a new table to the connector (a new source partition).
     */
    @Test
    void aTableRenamedMidSnapshotStopsUnderItsOldNameAndIsCopiedUnderItsNewOne() throws Exception {
        int rows = 50_000;
        db.execute("CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL)",
                "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, " + rows + ") g",
                "ANALYZE orders");
        Map<String, String> config = db.connectorConfig("ren", "public\\.orders(_v2)?");
        // Long enough for a task that failed at the rename to be seen FAILED before the
        // reconfiguration restarts it.
        config.put("table.discovery.interval.ms", "3000");
        // The rename waits for the open cursor's transaction: keep it short.
        config.put("cursor.max.age.ms", "1000");
        config.put("batch.max.rows", "500");
        String bootstrap = connect.kafka().bootstrapServers();
        Map<Integer, Integer> oldName = new HashMap<>();
        Map<Integer, Integer> newName = new HashMap<>();
        ConnectFixture.throttleProducers(bootstrap, 500_000.0);
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "ren")) {
            connect.configureConnector("ren", config);
            try (TopicReader old = new TopicReader(bootstrap, List.of("ren.public.orders"))) {
                old.readUntil(() -> oldName.size() >= 2_000, TIMEOUT,
                        row -> oldName.merge(row.key().get("id").asInt(), 1, Integer::sum));
                long began = System.nanoTime();
                db.execute("ALTER TABLE orders RENAME TO orders_v2");
                System.out.printf("rename: waited %d ms for the connector's cursor%n",
                        (System.nanoTime() - began) / 1_000_000);
                ConnectFixture.throttleProducers(bootstrap, null);
                try (TopicReader renamed = new TopicReader(bootstrap, List.of("ren.public.orders_v2"))) {
                    renamed.readUntil(() -> newName.size() == rows, TIMEOUT,
                            row -> newName.merge(row.key().get("id").asInt(), 1, Integer::sum));
                }
                old.readFor(Duration.ofSeconds(2), row -> oldName.merge(row.key().get("id").asInt(), 1,
                        Integer::sum));
            }
            watch.assertNeverFailed();
        } finally {
            ConnectFixture.throttleProducers(bootstrap, null);
        }
        assertEquals(db.queryLong("SELECT count(DISTINCT id) FROM orders_v2"), newName.size(),
                "every key arrives under the new name");
        assertTrue(oldName.size() < rows, "the old name's snapshot stopped at the rename, after "
                + oldName.size() + " keys");
        ConnectorStateInfo status = connect.connectorStatus("ren");
        assertEquals("RUNNING", status.connector().state());
        for (ConnectorStateInfo.TaskState task : status.tasks()) {
            assertEquals("RUNNING", task.state(), "task " + task.id() + ": " + task.trace());
        }
        System.out.printf("rename: %d keys under the old name, %d under the new one%n", oldName.size(),
                newName.size());
        connect.deleteConnector("ren");
    }

    /**
     * SELECT revoked from the connector's user while it follows changes: nothing can be read until
     * a person grants it again, so the task fails (retrying would only hide it) with the table,
     * the SQLState and what to grant; after the grant, a task restart resumes where it stopped.
     */
    @Test
    void aRevokedSelectFailsTheTaskNamingTheTableAndThePrivilege() throws Exception {
        db.execute("CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON ledger (updated_at, id)",
                // Written well before the snapshot's hand-off point, so the change phase does not
                // deliver them again (rows within its 100 ms guard would be, by design).
                "INSERT INTO ledger (id, amount, updated_at) SELECT g, g, now() - interval '1 hour'"
                        + " FROM generate_series(1, 1000) g",
                "GRANT SELECT ON ledger TO " + reader);
        Map<String, String> config = asRole(db.connectorConfig("rev", "public\\.ledger"), reader);
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("poll.interval.ms", "200");
        connect.configureConnector("rev", config);
        Map<Integer, Integer> seen = new HashMap<>();
        try (TopicReader topic = new TopicReader(connect.kafka().bootstrapServers(), List.of("rev.public.ledger"))) {
            topic.readUntil(() -> seen.size() == 1000, TIMEOUT,
                    row -> seen.merge(row.key().get("id").asInt(), 1, Integer::sum));

            db.execute("REVOKE SELECT ON ledger FROM " + reader);
            connect.assertions().assertConnectorIsRunningAndTasksHaveFailed("rev", 1,
                    "the task did not fail after SELECT was revoked");
            ConnectorStateInfo.TaskState task = connect.connectorStatus("rev").tasks().get(0);
            String trace = task.trace();
            System.out.println("revoked: task trace begins: " + trace.lines().findFirst().orElse(""));
            assertTrue(trace.contains("public.ledger") && trace.contains("42501") && trace.contains("SELECT"),
                    trace);
            assertEquals("RUNNING", connect.connectorStatus("rev").connector().state(),
                    "the connector itself goes on (listing tables needs no SELECT)");

            db.execute("GRANT SELECT ON ledger TO " + reader,
                    "INSERT INTO ledger (id, amount) VALUES (1001, 1001)");
            connect.restartTask("rev", 0);
            topic.readUntil(() -> seen.size() == 1001, TIMEOUT,
                    row -> seen.merge(row.key().get("id").asInt(), 1, Integer::sum));
            topic.readFor(Duration.ofSeconds(1), row -> seen.merge(row.key().get("id").asInt(), 1, Integer::sum));
        }
        assertEquals(db.queryLong("SELECT count(DISTINCT id) FROM ledger"), seen.size());
        assertTrue(seen.values().stream().allMatch(n -> n == 1), "the restarted task resumed, read nothing again: "
                + seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList());
        connect.deleteConnector("rev");
    }

    /**
     * A statement_timeout on the connector's role that cancels a fetch in the middle of every
     * cursor: rows keep moving between the timeouts, so the table is never given up, however many
     * timeouts there are (connection.attempts counts failures without a row read in between), and
     * no row is lost or read twice.
     *
     * <p>A row-level security policy stalls the 15th of the first 300 rows each cursor reads (a
     * transaction-local counter), so with fetch.size 10 the first fetch passes and the second
     * times out, about 30 times in a row. (The table is large enough for a cursor to be planned
     * as an index scan, which evaluates the policy row by row as rows are fetched.)
     */
    @Test
    void aStatementTimeoutBetweenRowsIsRetriedAsLongAsRowsMove() throws Exception {
        int rows = 20_000;
        db.execute("CREATE TABLE paced (id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO paced SELECT g, 'row ' || g FROM generate_series(1, " + rows + ") g",
                "CREATE FUNCTION stall_nth_row(nth int, seconds float8) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$"
                        + " DECLARE n int := coalesce(nullif(current_setting('pgkeyset_test.rows', true), ''), '0')::int + 1;"
                        + " BEGIN PERFORM set_config('pgkeyset_test.rows', n::text, true);"
                        + " IF n = nth THEN PERFORM pg_sleep(seconds); END IF; RETURN true; END $$",
                "CREATE POLICY stall ON paced FOR SELECT USING (id > 300 OR stall_nth_row(15, 2))",
                "ANALYZE paced",
                "ALTER TABLE paced ENABLE ROW LEVEL SECURITY",
                "GRANT SELECT ON paced TO " + paced);
        Map<String, String> props = asRole(db.connectorConfig("t", "public\\.paced"), paced);
        props.put("fetch.size", "10");
        props.put("connection.attempts", "3");
        props.put("retry.backoff.ms", "10");
        props.put("retry.backoff.max.ms", "20");
        List<Integer> ids = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (ids.size() < rows && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    batch.forEach(r -> ids.add(id(r)));
                }
            }
        }
        assertEquals(rows, ids.size(), "every row, none twice");
        for (int i = 0; i < rows; i++) {
            assertEquals(i + 1, ids.get(i));
        }
    }

    /**
     * A statement_timeout that every attempt hits (here: the cursor waits for a lock a migration
     * holds longer than the timeout) does not loop forever: after connection.attempts failures
     * without a row read, the task fails naming the table, the SQLState and the setting to change.
     */
    @Test
    void aStatementTimeoutThatAlwaysHitsFailsTheTaskSayingWhatToChange() throws Exception {
        db.execute("CREATE TABLE locked (id int PRIMARY KEY)", "INSERT INTO locked SELECT generate_series(1, 10)",
                "GRANT SELECT ON locked TO " + paced);
        Map<String, String> props = asRole(db.connectorConfig("t", "public\\.locked"), paced);
        props.put("connection.attempts", "3");
        props.put("retry.backoff.ms", "10");
        try (TaskHarness harness = new TaskHarness(props).start();
             Connection migration = db.connect()) {
            migration.setAutoCommit(false);
            try (Statement st = migration.createStatement()) {
                st.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
            }
            long began = System.nanoTime();
            ConnectException e = assertThrows(ConnectException.class, () -> {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (System.nanoTime() < deadline) {
                    harness.poll();
                }
            });
            migration.rollback();
            System.out.printf("statement timeout: task failed after %d ms: %s%n",
                    (System.nanoTime() - began) / 1_000_000, e.getMessage());
            assertTrue(e.getMessage().contains("public.locked") && e.getMessage().contains("3 times in a row")
                    && e.getMessage().contains("57014") && e.getMessage().contains("statement_timeout"),
                    e.getMessage());
        }
    }

    /**
     * TRUNCATE mid-snapshot waits for the open cursor's transaction (at most cursor.max.age.ms of
     * reading); the reopened cursor then finds nothing after the last key read, so the snapshot
     * ends with what it read, without an error, and the change phase delivers rows written after.
     */
    @Test
    void aTableTruncatedMidSnapshotEndsTheSnapshotAndChangesGoOn() throws Exception {
        int rows = 50_000;
        db.execute("CREATE TABLE shrinking (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON shrinking (updated_at, id)",
                "INSERT INTO shrinking SELECT g, now() - interval '1 hour' FROM generate_series(1, " + rows + ") g");
        Map<String, String> props = db.connectorConfig("t", "public\\.shrinking");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        props.put("batch.max.rows", "500");
        props.put("cursor.max.age.ms", "1000");
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            records.addAll(harness.poll());
            long began = System.nanoTime();
            CompletableFuture<Long> truncate = CompletableFuture.supplyAsync(() -> {
                db.execute("TRUNCATE shrinking");
                return (System.nanoTime() - began) / 1_000_000;
            });
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!truncate.isDone() && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
                Thread.sleep(50); // a slow consumer: the cursor ages out mid-table
            }
            long waitedMs = truncate.get(1, TimeUnit.SECONDS);
            // The row read ahead before the cursor let go (for the TRUNCATE's lock, or its age) is
            // still to be handed over: poll until the snapshot has nothing more.
            for (int idle = 0; idle < 5 && System.nanoTime() < deadline; ) {
                List<SourceRecord> batch = harness.poll();
                if (batch == null) {
                    idle++;
                    Thread.sleep(50);
                } else {
                    records.addAll(batch);
                    idle = 0;
                }
            }
            int snapshotRows = records.size();
            db.execute("INSERT INTO shrinking (id) SELECT g FROM generate_series(" + (rows + 1) + ", " + (rows + 10)
                    + ") g");
            while (records.size() < snapshotRows + 10 && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            System.out.printf("truncate: waited %d ms for the cursor; the snapshot read %d of %d rows%n", waitedMs,
                    snapshotRows, rows);
            assertTrue(waitedMs < 10_000, "TRUNCATE waited " + waitedMs + " ms");
            assertTrue(snapshotRows > 0 && snapshotRows < rows, "truncated mid-snapshot: " + snapshotRows);
            for (int i = 0; i < snapshotRows; i++) {
                assertEquals(i + 1, id(records.get(i)), "snapshot rows in key order, none twice");
                assertEquals("r", records.get(i).headers().lastWithName("pgkeyset.op").value());
            }
            assertEquals(snapshotRows + 10, records.size(), "the 10 rows written after the truncate, nothing else");
            for (int i = snapshotRows; i < records.size(); i++) {
                assertEquals(rows + 1 + i - snapshotRows, id(records.get(i)));
                assertEquals("u", records.get(i).headers().lastWithName("pgkeyset.op").value());
            }
            assertNull(harness.poll(), "nothing more");
        }
    }
}
