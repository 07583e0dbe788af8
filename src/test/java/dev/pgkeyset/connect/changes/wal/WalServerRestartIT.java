package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PrivateCluster;
import dev.pgkeyset.connect.testing.PrivateCluster.StopMode;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * PostgreSQL restarted under a streaming task (issue 14), on a cluster of the test's own: once
 * with a clean shutdown ({@code -m fast}), once as a crash ({@code -m immediate}: the slot's
 * position goes back to its last checkpoint, so the slot sends again what the task already
 * handed over). A writer commits small transactions throughout, reconnecting when the server
 * is away. The task must reconnect by itself with its retry backoff, stay RUNNING, and lose
 * nothing: every committed transaction's log row arrives, and every key's last record is the
 * row as PostgreSQL has it at the end (a tombstone for a deleted one).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalServerRestartIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final int KEYS = 200;

    private PrivateCluster cluster;
    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String slot = WalFixture.uniqueName("restart");

    @BeforeAll
    void setUp() throws Exception {
        cluster = PrivateCluster.start(Map.of());
        db = cluster.createDatabase("wal_restart");
        connect = ConnectFixture.start("wal-server-restart");
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                try {
                    connect.deleteConnector("walrestart");
                } catch (RuntimeException absent) {
                    // not created by a failed test
                }
                connect.stop();
            }
        } finally {
            if (cluster != null) {
                // The slot and the database go with the cluster.
                cluster.close();
            }
        }
    }

    @Test
    void aRestartedServerIsReconnectedWithNothingLost() throws Exception {
        long seed = System.nanoTime();
        System.out.println("WalServerRestartIT seed " + seed);
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text)",
                "CREATE TABLE tx_log (id bigserial PRIMARY KEY)",
                "INSERT INTO t SELECT g, 1, 'initial' FROM generate_series(1, 100) g");
        connect.configureConnector("walrestart",
                WalFixture.walConfig(db, "walrestart", "public\\.(t|tx_log)", slot, "initial"));
        WalFixture.awaitStreaming(db, slot, TIMEOUT);

        List<Integer> walsenders = new ArrayList<>();
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "walrestart");
                Writer writer = new Writer(db, new Random(seed))) {
            writer.awaitCommits(200);
            for (StopMode mode : List.of(StopMode.FAST, StopMode.IMMEDIATE)) {
                walsenders.add(activePid());
                long began = System.nanoTime();
                cluster.restart(mode);
                System.out.println("WalServerRestartIT: restart -m " + mode + " took "
                        + (System.nanoTime() - began) / 1_000_000 + " ms");
                System.out.println("WalServerRestartIT: restarted -m " + mode + " after " + writer.commits.get()
                        + " commits");
                int before = writer.commits.get();
                WalFixture.awaitStreaming(db, slot, TIMEOUT);
                writer.awaitCommits(before + 200);
            }
            walsenders.add(activePid());
            writer.stop();
            db.execute("INSERT INTO t VALUES (-1, 0, 'sentinel')");
            System.out.println("WalServerRestartIT: " + writer.commits.get() + " commits, " + writer.failures.get()
                    + " failed while the server was away; walsender pids " + walsenders);

            Map<Integer, JsonNode> last = new HashMap<>();
            TreeSet<Long> logged = new TreeSet<>();
            try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                    List.of("walrestart.public.t", "walrestart.public.tx_log"))) {
                reader.readUntil(() -> last.containsKey(-1), TIMEOUT, row -> {
                    if (row.topic().endsWith(".tx_log")) {
                        logged.add(row.key().get("id").asLong());
                    } else {
                        last.put(row.key().get("id").asInt(), row.value());
                    }
                });
            }
            assertEquals(3, new TreeSet<>(walsenders).size(), "a new walsender after each restart: " + walsenders);
            assertEquals(committedLogIds(), logged, "every committed transaction's log row was streamed");
            assertEquals(List.of(), keysNotAsInTable(last), "keys whose last record is not the row");
            watch.assertAlwaysRunning();
        } finally {
            System.out.println("WalServerRestartIT server log:\n" + cluster.serverLog());
        }
    }

    /**
     * A fast shutdown ends the walsender without an error: it sends CommandComplete and closes
     * the connection. pgjdbc's non-blocking read holds a CommandComplete back until the client
     * ends the COPY, so nothing is read from then on; only a status update that cannot be written
     * fails the read (the stream's keepalive probe after 2 s of silence, a few seconds
     * later). What must hold: the read does fail, as a connection failure the task retries.
     */
    @Test
    void aConnectionTheServerClosedFailsTheRead() throws Exception {
        String name = WalFixture.uniqueName("closed");
        db.execute("CREATE TABLE closed_t (id int PRIMARY KEY)", "CREATE PUBLICATION " + name + " FOR TABLE closed_t",
                "SELECT pg_create_logical_replication_slot('" + name + "', 'pgoutput')");
        dev.pgkeyset.connect.config.PgKeysetConfig config = new dev.pgkeyset.connect.config.PgKeysetConfig(
                WalFixture.walConfig(db, "closed", "public\\.closed_t", name, "never"));
        SQLException failure = null;
        try (PgWalStream stream = PgWalStream.open(config, 0)) {
            db.execute("INSERT INTO closed_t VALUES (1)");
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!(stream.read() instanceof PgOutputMessage.Commit)) {
                assertTrue(System.nanoTime() < deadline, "the insert's commit streamed");
                Thread.sleep(10);
            }
            // Read and confirm on while the server shuts down, as an idle task does: a fast
            // shutdown waits until the walsender's client confirmed all it was sent.
            Thread restart = new Thread(() -> cluster.restart(StopMode.FAST), "fast-restart");
            restart.start();
            try {
                while (System.nanoTime() < deadline) {
                    stream.read();
                    stream.confirm(stream.receivedLsn());
                    Thread.sleep(10);
                }
            } catch (SQLException e) {
                failure = e;
            }
            restart.join(TIMEOUT.toMillis());
        }
        assertTrue(failure != null, "the read failed once the server had closed the connection");
        System.out.println("WalServerRestartIT: after the fast restart the read failed with: " + failure.getMessage());
        assertTrue(dev.pgkeyset.connect.pg.SqlErrors.isTransient(failure), "a failure the task retries with its "
                + "backoff: " + failure.getMessage() + " (SQLState " + failure.getSQLState() + ")");
    }

    private int activePid() {
        return (int) db.queryLong("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
    }

    private TreeSet<Long> committedLogIds() throws SQLException {
        TreeSet<Long> ids = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id FROM tx_log ORDER BY id")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    /** Each key ever streamed against the table: its last record equal to the row, or a tombstone for no row. */
    private List<String> keysNotAsInTable(Map<Integer, JsonNode> last) throws SQLException {
        Map<Integer, String> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id, v, note FROM t ORDER BY id")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getInt(2) + "/" + rs.getString(3));
            }
        }
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<Integer, String> row : rows.entrySet()) {
            JsonNode value = last.get(row.getKey());
            String got = value == null ? null : value.get("v").asInt() + "/" + value.get("note").asText();
            if (!row.getValue().equals(got)) {
                wrong.add(row.getKey() + ": row " + row.getValue() + ", last record " + got);
            }
        }
        for (Map.Entry<Integer, JsonNode> record : last.entrySet()) {
            if (!rows.containsKey(record.getKey()) && record.getValue() != null) {
                wrong.add(record.getKey() + ": deleted, last record " + record.getValue());
            }
        }
        assertTrue(rows.size() > 50 && last.size() > rows.size(), "rows " + rows.size() + ", keys streamed "
                + last.size() + ": the workload inserted, updated and deleted");
        return wrong;
    }

    /**
     * Commits small transactions (an upsert or a delete of a random key, and a tx_log row) until
     * stopped, reconnecting whenever the server is away. A transaction whose commit was cut off
     * may or may not have committed: the test asks PostgreSQL afterwards, never this count.
     */
    private static final class Writer implements AutoCloseable {

        final AtomicInteger commits = new AtomicInteger();
        final AtomicInteger failures = new AtomicInteger();
        private final Thread thread;
        private volatile boolean stop;

        Writer(TestDatabase db, Random random) {
            thread = new Thread(() -> {
                while (!stop) {
                    try (Connection c = db.connect(); Statement st = c.createStatement()) {
                        c.setAutoCommit(false);
                        while (!stop) {
                            int id = 1 + random.nextInt(KEYS);
                            if (random.nextInt(4) == 0) {
                                st.execute("DELETE FROM t WHERE id = " + id);
                            } else {
                                st.execute("INSERT INTO t VALUES (" + id + ", 1, 'n" + random.nextInt(1000)
                                        + "') ON CONFLICT (id) DO UPDATE SET v = t.v + 1, note = excluded.note");
                            }
                            st.execute("INSERT INTO tx_log DEFAULT VALUES");
                            c.commit();
                            commits.incrementAndGet();
                            Thread.sleep(2);
                        }
                    } catch (SQLException serverAway) {
                        failures.incrementAndGet();
                        pause(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "restart-writer");
            thread.start();
        }

        void awaitCommits(int count) throws InterruptedException {
            ConnectFixture.waitFor(count + " commits", TIMEOUT, () -> commits.get() >= count);
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(30_000);
        }

        private static void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
