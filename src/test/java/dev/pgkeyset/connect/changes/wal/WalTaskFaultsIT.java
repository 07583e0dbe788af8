package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Stream faults as a task in a real worker meets them: a terminated walsender is reconnected
 * with the task's backoff and nothing lost; a slot held by another backend is waited for
 * without an attempt limit; a dropped slot fails the task with the way to recover.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalTaskFaultsIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String faultSlot = WalFixture.uniqueName("fault");
    private final String lostSlot = WalFixture.uniqueName("lost");
    private final String busySlot = WalFixture.uniqueName("busy");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_task_faults");
        connect = ConnectFixture.start("wal-task-faults");
    }

    @AfterAll
    void tearDown() {
        try {
            if (connect != null) {
                for (String connector : List.of("walfault", "wallost", "walbusy")) {
                    try {
                        connect.deleteConnector(connector);
                    } catch (RuntimeException absent) {
                        // not created by a failed test
                    }
                }
            }
        } finally {
            try {
                WalFixture.dropSlotAndPublication(db, faultSlot);
                WalFixture.dropSlotAndPublication(db, lostSlot);
                WalFixture.dropSlotAndPublication(db, busySlot);
            } finally {
                ConnectFixture.stopAll(connect, db);
            }
        }
    }

    /**
     * The walsender terminated (pg_terminate_backend) twice while transactions commit: the task
     * reconnects with its backoff and resumes from the slot, never FAILED, and every row arrives.
     */
    @Test
    void aTerminatedWalsenderIsReconnectedWithNothingLost() throws Exception {
        db.execute("CREATE TABLE faulty (id int PRIMARY KEY, note text)");
        Map<String, String> config = WalFixture.walConfig(db, "walfault", "public\\.faulty", faultSlot, "never");
        config.put("retry.backoff.ms", "100");
        connect.configureConnector("walfault", config);
        WalFixture.awaitStreaming(db, faultSlot, TIMEOUT);
        Set<Integer> seen = new HashSet<>();
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "walfault")) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                for (int tx = 0; tx < 300; tx++) {
                    st.execute("INSERT INTO faulty SELECT g, 'n' FROM generate_series(" + (tx * 10 + 1) + ", "
                            + (tx * 10 + 10) + ") g");
                    if (tx == 100 || tx == 200) {
                        WalFixture.awaitStreaming(db, faultSlot, TIMEOUT);
                        long terminated = db.queryLong("SELECT count(pg_terminate_backend(active_pid)) FROM "
                                + "pg_replication_slots WHERE slot_name = '" + faultSlot + "' AND active_pid IS NOT NULL");
                        assertEquals(1, terminated, "walsender terminated");
                    }
                }
            }
            try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                    List.of("walfault.public.faulty"))) {
                reader.readUntil(() -> seen.size() == 3000, TIMEOUT, row -> {
                    int id = row.key().get("id").asInt();
                    // The task never restarted: what the slot sends again after a reconnect is passed
                    // over by its offset, so each row arrives once.
                    assertTrue(seen.add(id), "row " + id + " delivered twice after a reconnect");
                });
                reader.readFor(Duration.ofSeconds(1), row -> assertTrue(seen.add(row.key().get("id").asInt()),
                        "row " + row.key().get("id").asInt() + " delivered twice after a reconnect"));
            }
            watch.assertNeverFailed();
        }
    }

    /** The slot dropped under a streaming task: the task FAILS, saying what happened and how to recover. */
    @Test
    void aDroppedSlotFailsTheTaskWithTheRemedy() throws Exception {
        db.execute("CREATE TABLE lost_t (id int PRIMARY KEY)");
        connect.configureConnector("wallost", WalFixture.walConfig(db, "wallost", "public\\.lost_t", lostSlot, "never"));
        WalFixture.awaitStreaming(db, lostSlot, TIMEOUT);
        WalFixture.dropSlotAndPublication(db, lostSlot);
        String[] trace = new String[1];
        ConnectFixture.waitFor("the task FAILED", TIMEOUT, () -> {
            try {
                var task = connect.connectorStatus("wallost").tasks().get(0);
                trace[0] = task.trace();
                return "FAILED".equals(task.state());
            } catch (RuntimeException notYet) {
                return false;
            }
        });
        assertTrue(trace[0].contains(lostSlot) && trace[0].toLowerCase(java.util.Locale.ROOT).contains("snapshot"),
                "the failure names the slot and the recovery: " + trace[0].lines().findFirst().orElse(""));
    }

    /**
     * The slot streamed by another backend when the task starts (as an old walsender lingers after
     * a kill): the task waits and retries, RUNNING throughout, and streams once the slot is free.
     */
    @Test
    void aSlotActiveForAnotherBackendIsWaitedFor() throws Exception {
        db.execute("CREATE TABLE busy_t (id int PRIMARY KEY)");
        Map<String, String> config = WalFixture.walConfig(db, "walbusy", "public\\.busy_t", busySlot, "never");
        config.put("retry.backoff.max.ms", "500");
        config.put("connection.attempts", "2");
        db.execute("CREATE PUBLICATION " + busySlot + " FOR TABLE busy_t",
                "SELECT pg_create_logical_replication_slot('" + busySlot + "', 'pgoutput')");
        int pid;
        try (ConnectFixture.TaskWatch watch = new ConnectFixture.TaskWatch(connect, "walbusy")) {
            try (PgWalStream other = PgWalStream.open(new dev.pgkeyset.connect.config.PgKeysetConfig(config), 0)) {
                pid = other.backendPid();
                connect.configureConnector("walbusy", config);
                connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("walbusy", 1, "task running");
                // Longer than connection.attempts × retry.backoff.max.ms: waiting has no attempt limit.
                for (int i = 0; i < 40; i++) {
                    other.read();
                    Thread.sleep(100);
                }
                assertEquals(pid, db.queryLong("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '"
                        + busySlot + "'"), "still held by the other backend");
            }
            ConnectFixture.waitFor("the task streaming the slot", TIMEOUT, () -> db.queryLong("SELECT count(*) FROM "
                    + "pg_replication_slots WHERE slot_name = '" + busySlot + "' AND active AND active_pid <> " + pid) == 1);
            db.execute("INSERT INTO busy_t VALUES (1)");
            try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("walbusy.public.busy_t"))) {
                Set<Integer> seen = new HashSet<>();
                reader.readUntil(() -> seen.contains(1), TIMEOUT, row -> seen.add(row.key().get("id").asInt()));
            }
            watch.assertNeverFailed();
        }
    }
}
