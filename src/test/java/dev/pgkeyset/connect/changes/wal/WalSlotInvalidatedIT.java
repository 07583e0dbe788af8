package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PrivateCluster;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * The slot invalidated by {@code max_slot_wal_keep_size} (issue 14), on a cluster of the test's
 * own with 1 MB WAL segments and a 2 MB limit: WAL written to a table outside the publication
 * while the slot cannot move, then a CHECKPOINT, and the server removes WAL the slot still
 * needs ({@code wal_status = 'lost'}). Once with the task streaming but paused (PostgreSQL
 * terminates the walsender holding the slot), once with the connector stopped. Either way the
 * task must end FAILED saying the slot was invalidated, that changes are lost from the stream,
 * and how to recover; never run on, skipping them. The recovery it names is then followed and
 * must give topics equal to the table.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalSlotInvalidatedIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    private PrivateCluster cluster;
    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private String connector;

    @BeforeAll
    void setUp() throws Exception {
        cluster = PrivateCluster.start(Map.of("max_slot_wal_keep_size", "'2MB'"));
        db = cluster.createDatabase("wal_slot_invalidated");
        db.execute("CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)");
        connect = ConnectFixture.start("wal-slot-invalidated");
    }

    @AfterEach
    void printServerLogOnFailure(TestInfo test) {
        // Kept short: the server log is what tells why a slot was or was not invalidated.
        System.out.println("WalSlotInvalidatedIT " + test.getDisplayName() + " server log (slot lines):");
        cluster.serverLog().lines().filter(l -> l.contains("slot")).forEach(System.out::println);
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                connect.stop();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    /**
     * Paused, the task neither reads nor confirms, so its slot cannot move while the walsender
     * holds it: invalidating it terminates that walsender. Resumed, the task must fail, then
     * the recovery it names (stop, delete the offsets, drop the slot, resume) snapshots anew.
     */
    @Test
    void aSlotInvalidatedUnderAPausedStreamingTaskFailsIt() throws Exception {
        String slot = WalFixture.uniqueName("lost_live");
        connector = "lostlive";
        db.execute("CREATE TABLE live (id int PRIMARY KEY, v text)",
                "INSERT INTO live SELECT g, 'snap' FROM generate_series(1, 20) g");
        connect.configureConnector(connector, WalFixture.walConfig(db, connector, "public\\.live", slot, "initial"));
        WalFixture.awaitStreaming(db, slot, TIMEOUT);
        db.execute("INSERT INTO live VALUES (21, 'streamed')");
        Map<Integer, JsonNode> last = new HashMap<>();
        Map<Integer, String> rows = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("lostlive.public.live"))) {
            reader.readUntil(() -> last.containsKey(21), TIMEOUT, row -> last.put(row.key().get("id").asInt(), row.value()));

            connect.pauseConnector(connector);
            awaitTaskState("PAUSED");
            long walsender = db.queryLong("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
            // Changes the slot holds when it is invalidated, and one after: none may be skipped silently.
            db.execute("UPDATE live SET v = 'while paused' WHERE id <= 5", "DELETE FROM live WHERE id = 6");
            invalidate(slot);
            assertTrue(cluster.serverLog().contains("terminating process " + walsender),
                    "PostgreSQL terminated the walsender holding the slot (pid " + walsender + ")");
            db.execute("INSERT INTO live VALUES (22, 'after the loss')");

            connect.resumeConnector(connector);
            assertFailsSayingTheSlotIsLost(slot);

            // The recovery the message names.
            connect.stopConnector(connector);
            awaitConnectorState("STOPPED");
            connect.resetConnectorOffsets(connector);
            db.execute("SELECT pg_drop_replication_slot('" + slot + "')");
            try (Connection c = db.connect(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id, v FROM live ORDER BY id")) {
                while (rs.next()) {
                    rows.put(rs.getInt(1), rs.getString(2));
                }
            }
            connect.resumeConnector(connector);
            // Read until every row of the table has arrived as it is now (nothing writes any more).
            // Not until a sentinel row: the new snapshot goes in key order, beside the stream, so
            // no record is sure to come last (a sentinel of key -1, inserted before the snapshot
            // read, came first, and the test at times stopped reading before key 22).
            reader.readUntil(() -> rows.entrySet().stream().allMatch(row -> last.get(row.getKey()) != null
                    && row.getValue().equals(last.get(row.getKey()).get("v").asText())), TIMEOUT,
                    row -> last.put(row.key().get("id").asInt(), row.value()));
        }
        Map<Integer, String> streamed = new HashMap<>();
        last.forEach((id, value) -> {
            if (value != null) {
                streamed.put(id, value.get("v").asText());
            }
        });
        // Key 6 was deleted while the slot was lost: a new snapshot copies the rows there are and
        // cannot send a delete for one that is gone, so its last record stays the first snapshot's
        // (the README's limit: a consumer takes the new snapshot as a reload).
        assertEquals("snap", streamed.remove(6), "key 6, deleted in the gap, keeps its old record");
        assertTrue(!rows.containsKey(6), "row 6 is deleted");
        assertEquals(rows, streamed, "after the recovery, each key's last record is the row");
    }

    /** Stopped, the connector holds the slot back; invalidated meanwhile, its next start must fail. */
    @Test
    void aSlotInvalidatedWhileTheConnectorIsStoppedFailsItsStart() throws Exception {
        String slot = WalFixture.uniqueName("lost_stopped");
        connector = "loststopped";
        db.execute("CREATE TABLE stopped (id int PRIMARY KEY)", "INSERT INTO stopped VALUES (1)");
        connect.configureConnector(connector, WalFixture.walConfig(db, connector, "public\\.stopped", slot, "initial"));
        WalFixture.awaitStreaming(db, slot, TIMEOUT);
        connect.stopConnector(connector);
        awaitConnectorState("STOPPED");
        db.execute("INSERT INTO stopped VALUES (2)");
        invalidate(slot);
        connect.resumeConnector(connector);
        assertFailsSayingTheSlotIsLost(slot);
    }

    /**
     * What the server itself answers START_REPLICATION of an invalidated slot (PostgreSQL 13 to 15
     * say "cannot read from logical replication slot", 16 on "can no longer get changes from
     * replication slot"): it must be told as a lost slot, with the recovery, even when the slot
     * was invalidated after the stream's own look at pg_replication_slots.
     */
    @Test
    void theServersErrorForAnInvalidatedSlotIsToldAsALostSlot() throws Exception {
        String slot = WalFixture.uniqueName("lost_error");
        db.execute("CREATE PUBLICATION " + slot + " FOR TABLE filler",
                "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        invalidate(slot);
        dev.pgkeyset.connect.config.PgKeysetConfig config = new dev.pgkeyset.connect.config.PgKeysetConfig(
                WalFixture.walConfig(db, "lost_error", "public\\.filler", slot, "never"));
        java.sql.SQLException server = null;
        try (dev.pgkeyset.connect.pg.ReplicationConnection replication =
                dev.pgkeyset.connect.pg.ConnectionFactory.openReplication(config)) {
            replication.connection().unwrap(org.postgresql.PGConnection.class).getReplicationAPI()
                    .replicationStream().logical().withSlotName(slot)
                    .withSlotOption("proto_version", "1").withSlotOption("publication_names", slot)
                    .start().close();
        } catch (java.sql.SQLException e) {
            server = e;
        }
        assertTrue(server != null, "START_REPLICATION of a lost slot fails");
        System.out.println("WalSlotInvalidatedIT: the server says " + server.getMessage().lines().findFirst().orElse("")
                + " (SQLState " + server.getSQLState() + ")");
        Exception told = WalStreamFaults.classify(server, slot, slot);
        assertTrue(told instanceof SlotLostException, "told as a lost slot, not as " + told);
        assertTrue(told.getMessage().contains("new snapshot"), told.getMessage());
    }

    @AfterEach
    void deleteConnector() {
        if (connector != null) {
            try {
                connect.deleteConnector(connector);
            } catch (RuntimeException absent) {
                // not created
            }
            connector = null;
        }
    }

    /**
     * Writes WAL outside the publication and checkpoints until the server invalidates the slot:
     * each round adds about 4 MB (four 1 MB segments), over the 2 MB the slot may keep.
     */
    private void invalidate(String slot) throws InterruptedException {
        for (int round = 0; round < 10; round++) {
            db.execute("INSERT INTO filler (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, 4000) g",
                    "SELECT pg_switch_wal()", "CHECKPOINT");
            if ("lost".equals(walStatus(slot))) {
                System.out.println("WalSlotInvalidatedIT: slot " + slot + " lost after " + (round + 1) + " round(s)");
                return;
            }
        }
        throw new AssertionError("slot " + slot + " was not invalidated; wal_status " + walStatus(slot));
    }

    private String walStatus(String slot) {
        try (Connection c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'")) {
            return rs.next() ? rs.getString(1) : "(no slot)";
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The task ends FAILED, its trace (REST status) naming the slot, the loss, and the way to a new snapshot. */
    private void assertFailsSayingTheSlotIsLost(String slot) throws InterruptedException {
        ConnectorStateInfo.TaskState task = awaitTaskState("FAILED");
        String trace = task.trace();
        String message = trace.lines().findFirst().orElse("");
        String lower = trace.toLowerCase(Locale.ROOT);
        assertTrue(trace.contains("'" + slot + "'"), "names the slot: " + message);
        assertTrue(lower.contains("invalidated") && lower.contains("lost"), "says the slot was invalidated: " + message);
        assertTrue(lower.contains("can no longer be streamed"), "says changes are lost from the stream: " + message);
        assertTrue(lower.contains("new snapshot") && trace.contains("/offsets")
                && trace.contains("pg_drop_replication_slot('" + slot + "')"),
                "names the recovery (a new snapshot: offsets deleted, the slot dropped): " + message);
    }

    /** Waits for the task's state (RUNNING passing by is fine, staying RUNNING is not). */
    private ConnectorStateInfo.TaskState awaitTaskState(String state) throws InterruptedException {
        ConnectorStateInfo.TaskState[] seen = new ConnectorStateInfo.TaskState[1];
        try {
            ConnectFixture.waitFor("task of " + connector + " " + state, TIMEOUT, () -> {
                try {
                    List<ConnectorStateInfo.TaskState> tasks = connect.connectorStatus(connector).tasks();
                    seen[0] = tasks.isEmpty() ? null : tasks.get(0);
                    return seen[0] != null && state.equals(seen[0].state());
                } catch (RuntimeException notYet) {
                    return false;
                }
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last seen: "
                    + (seen[0] == null ? "no task" : seen[0].state() + " " + seen[0].trace()), e);
        }
        return seen[0];
    }

    private void awaitConnectorState(String state) throws InterruptedException {
        ConnectFixture.waitFor(connector + " " + state, TIMEOUT, () -> {
            try {
                return state.equals(connect.connectorStatus(connector).connector().state());
            } catch (RuntimeException notYet) {
                return false;
            }
        });
    }
}
