package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Faults around a real worker while it copies a 200k-row table or follows changes: the
 * connector's database sessions terminated by a DBA, and the Kafka broker restarted. Each time
 * every key arrives, and the task is never failed or restarted: it stays RUNNING throughout, and
 * one task instance reads every row (its rows-read-total metric, which starts at 0 in a restarted
 * task, counts them all).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerFaultsIT {

    private static final int ROWS = 200_000;
    private static final int CHANGED = 100_000;
    private static final Duration TIMEOUT = Duration.ofMinutes(4);
    /** Slows the snapshot down (records wait on the broker) so faults land in the middle of it. */
    private static final double THROTTLE_BYTES_PER_SECOND = 3_000_000.0;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("worker_faults");
        db.execute("CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL)",
                "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE events",
                "CREATE TABLE accounts (id bigint PRIMARY KEY, note text NOT NULL,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON accounts (updated_at, id)",
                "INSERT INTO accounts SELECT g, 'old', now() - interval '1 hour' FROM generate_series(1, " + CHANGED
                        + ") g",
                "ANALYZE accounts");
        connect = ConnectFixture.start("worker-faults", Map.of(
                // A small producer buffer: a throttled broker then holds the task (and its open
                // cursor) mid-table, instead of the whole table waiting in the worker's memory.
                "producer.buffer.memory", "1048576",
                // With one broker, its restart takes the group coordinator away; by default a worker
                // revokes its own tasks after heartbeat.interval.ms (3 s) without one, which is the
                // framework restarting the task, not the connector. Outlast the restart instead.
                "heartbeat.interval.ms", "20000",
                "session.timeout.ms", "60000"));
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    /**
     * pg_terminate_backend on the connector's session twice while it streams the snapshot: the
     * reader keeps the rows it read, waits out its backoff and reopens the cursor after the last
     * one, inside the same task.
     */
    @Test
    void backendsTerminatedTwiceDuringTheSnapshotLoseNothingAndTheTaskIsNeverRestarted() throws Exception {
        String bootstrap = connect.kafka().bootstrapServers();
        Map<String, String> config = db.connectorConfig("term", "public\\.events");
        config.put("batch.max.rows", "1000");
        config.put("retry.backoff.ms", "200");
        int[] seen = new int[ROWS + 1];
        AtomicInteger distinct = new AtomicInteger();
        int terminated = 0;
        ConnectFixture.throttleProducers(bootstrap, THROTTLE_BYTES_PER_SECOND);
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "term")) {
            connect.configureConnector("term", config);
            try (TopicReader reader = new TopicReader(bootstrap, List.of("term.public.events"))) {
                java.util.function.Consumer<TopicReader.Row> count = row -> {
                    if (seen[row.key().get("id").asInt()]++ == 0) {
                        distinct.incrementAndGet();
                    }
                };
                reader.readUntil(() -> distinct.get() >= 40_000, TIMEOUT, count);
                terminated += terminateConnectorSessionsInATransaction();
                reader.readUntil(() -> distinct.get() >= 120_000, TIMEOUT, count);
                terminated += terminateConnectorSessionsInATransaction();
                ConnectFixture.throttleProducers(bootstrap, null);
                reader.readUntil(() -> distinct.get() == ROWS, TIMEOUT, count);
                reader.readFor(Duration.ofSeconds(2), count);
            }
            watch.assertAlwaysRunning();
        } finally {
            ConnectFixture.throttleProducers(bootstrap, null);
        }
        assertEquals(2, terminated, "two sessions terminated, each with a cursor open mid-snapshot");
        assertEquals(db.queryLong("SELECT count(DISTINCT id) FROM events"), distinct.get(), "every key arrived");
        for (int id = 1; id <= ROWS; id++) {
            assertEquals(1, seen[id], "row " + id + " once: the cursor reopened after the last row read");
        }
        long cursors = pluginMetric("term", "cursor-openings-total");
        assertTrue(cursors >= 3, "the first cursor and one after each termination: " + cursors);
        assertEquals(ROWS, pluginMetric("term", "rows-read-total"), "one task instance read every row");
        System.out.printf("terminations: %d sessions terminated, %d cursors opened, %d distinct keys, each once%n",
                terminated, cursors, distinct.get());
        connect.deleteConnector("term");
    }

    /**
     * A session terminated while the change phase streams 100,000 updated rows: every changed
     * row arrives with its new value, and the task goes on.
     */
    @Test
    void aBackendTerminatedDuringTheChangePhaseLosesNoChange() throws Exception {
        String bootstrap = connect.kafka().bootstrapServers();
        Map<String, String> config = db.connectorConfig("chg", "public\\.accounts");
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("poll.interval.ms", "200");
        config.put("batch.max.rows", "1000");
        config.put("retry.backoff.ms", "200");
        Map<Long, String> lastNote = new HashMap<>();
        int terminated;
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "chg")) {
            connect.configureConnector("chg", config);
            try (TopicReader reader = new TopicReader(bootstrap, List.of("chg.public.accounts"))) {
                java.util.function.Consumer<TopicReader.Row> record =
                        row -> lastNote.put(row.key().get("id").asLong(), row.value().get("note").asText());
                reader.readUntil(() -> lastNote.size() == CHANGED, TIMEOUT, record);
                long cursorsAfterSnapshot = pluginMetric("chg", "cursor-openings-total");

                ConnectFixture.throttleProducers(bootstrap, THROTTLE_BYTES_PER_SECOND);
                try {
                    db.execute("UPDATE accounts SET note = 'changed', updated_at = now()");
                    reader.readUntil(() -> lastNote.values().stream().filter("changed"::equals).count() >= 10_000,
                            TIMEOUT, record);
                    terminated = terminateConnectorSessionsInATransaction();
                } finally {
                    ConnectFixture.throttleProducers(bootstrap, null);
                }
                reader.readUntil(() -> lastNote.values().stream().filter("changed"::equals).count() == CHANGED,
                        TIMEOUT, record);
                assertTrue(pluginMetric("chg", "cursor-openings-total") > cursorsAfterSnapshot);
            }
            watch.assertAlwaysRunning();
        }
        assertEquals(1, terminated, "the session was terminated while reading changes");
        assertEquals(db.queryLong("SELECT count(*) FROM accounts WHERE note = 'changed'"),
                lastNote.values().stream().filter("changed"::equals).count(), "every changed row arrived");
        assertEquals(2L * CHANGED, pluginMetric("chg", "rows-read-total"),
                "one task instance read the snapshot and every change");
        connect.deleteConnector("chg");
    }

    /**
     * The (only) Kafka broker stopped for a few seconds and started again on the same port in the
     * middle of a snapshot: the worker's producer retries until it is back, the task's poll() just
     * waits, and every key arrives (records the producer had to resend may arrive twice).
     */
    @Test
    void aBrokerRestartDuringTheSnapshotLosesNothingAndTheTaskStaysRunning() throws Exception {
        String bootstrap = connect.kafka().bootstrapServers();
        Map<String, String> config = db.connectorConfig("brk", "public\\.events");
        config.put("batch.max.rows", "1000");
        int[] seen = new int[ROWS + 1];
        AtomicInteger distinct = new AtomicInteger();
        long downMs;
        ConnectFixture.throttleProducers(bootstrap, THROTTLE_BYTES_PER_SECOND);
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "brk")) {
            connect.configureConnector("brk", config);
            try (TopicReader reader = new TopicReader(bootstrap, List.of("brk.public.events"))) {
                java.util.function.Consumer<TopicReader.Row> count = row -> {
                    if (seen[row.key().get("id").asInt()]++ == 0) {
                        distinct.incrementAndGet();
                    }
                };
                reader.readUntil(() -> distinct.get() >= 50_000, TIMEOUT, count);
                assertTrue(connectorSessionsInATransaction() > 0, "the snapshot's cursor is open");
                long began = System.nanoTime();
                connect.kafka().stopOnlyBrokers();
                Thread.sleep(5_000);
                connect.kafka().restartOnlyBrokers();
                downMs = (System.nanoTime() - began) / 1_000_000;
                ConnectFixture.throttleProducers(bootstrap, null);
                reader.readUntil(() -> distinct.get() == ROWS, TIMEOUT, count);
                reader.readFor(Duration.ofSeconds(2), count);
            }
            watch.assertAlwaysRunning();
            System.out.printf("broker restart: %d task states sampled, all RUNNING%n", watch.samples());
        } finally {
            ConnectFixture.throttleProducers(bootstrap, null);
        }
        assertEquals(db.queryLong("SELECT count(DISTINCT id) FROM events"), distinct.get(), "every key arrived");
        int duplicates = 0;
        for (int id = 1; id <= ROWS; id++) {
            assertTrue(seen[id] >= 1, "row " + id);
            duplicates += seen[id] - 1;
        }
        assertEquals(ROWS, pluginMetric("brk", "rows-read-total"), "one task instance read every row");
        System.out.printf("broker restart: down %d ms, %d distinct keys, %d records twice%n", downMs,
                distinct.get(), duplicates);
        connect.deleteConnector("brk");
    }

    /**
     * Terminates the connector's sessions that have a transaction open (a cursor mid-table),
     * trying for up to 30 s until there is one; returns how many were terminated.
     */
    private int terminateConnectorSessionsInATransaction() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try (Connection c = db.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                         + " WHERE datname = current_database() AND application_name LIKE 'kafka-connect-pg-keyset%'"
                         + " AND xact_start IS NOT NULL")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return rs.getInt(1);
                }
            }
            Thread.sleep(20);
        }
        return 0;
    }

    private long connectorSessionsInATransaction() {
        return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name LIKE 'kafka-connect-pg-keyset%' AND xact_start IS NOT NULL");
    }

    /** A per-table metric of the connector's (only) task and table, over JMX. */
    private static long pluginMetric(String connector, String name) throws Exception {
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName table = jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector=" + connector + ",*"),
                null).stream().findFirst().orElseThrow();
        return (Long) jmx.getAttribute(table, name);
    }
}
