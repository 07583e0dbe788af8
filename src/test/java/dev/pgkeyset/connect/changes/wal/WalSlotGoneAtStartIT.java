package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * The slot disappears while the task is down (dropped by hand, or by a removal that kept the
 * connector's offsets, then the connector recreated under the same name), and the task starts
 * again with its committed offsets: the snapshot is done, the WAL offset points into the old
 * slot's history. A new slot starts at today's WAL position, so every change committed while
 * no slot existed would be skipped without a word. The task must FAIL, naming the slot and the
 * recovery (a new snapshot), and must not create a slot that would hide the gap.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalSlotGoneAtStartIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("gone");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("adv_a_slot_gone");
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g");
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

    @Test
    void aSlotDroppedWhileTheTaskWasDownFailsTheRestartInsteadOfSkippingTheGap() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, "gone", "public\\.t", name, "initial");
        config.put("poll.interval.ms", "10");
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            // Snapshot, then one streamed change, so a WAL offset is committed as well.
            Map<Integer, Struct> last = new HashMap<>();
            db.execute("INSERT INTO t VALUES (21, 'v21')");
            pollUntil(harness, last, () -> last.containsKey(21));
            assertEquals(21, last.size(), "snapshot rows and the streamed insert");
            harness.stop();

            db.execute("SELECT pg_drop_replication_slot('" + name + "')");
            // Committed while no slot exists: only a new snapshot can see these.
            db.execute("UPDATE t SET v = 'changed' WHERE id = 1", "DELETE FROM t WHERE id = 2",
                    "INSERT INTO t VALUES (22, 'v22')");

            ConnectException failure = null;
            try {
                harness.start();
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (System.nanoTime() < deadline) {
                    record(harness.poll(), last);
                }
            } catch (ConnectException e) {
                failure = e;
            }
            if (failure == null) {
                // What a consumer would hold: compare it with the rows (PostgreSQL's view).
                Map<Integer, String> rows = new HashMap<>();
                try (var c = db.connect(); var st = c.createStatement();
                        var rs = st.executeQuery("SELECT id, v FROM t ORDER BY id")) {
                    while (rs.next()) {
                        rows.put(rs.getInt(1), rs.getString(2));
                    }
                }
                List<String> wrong = new ArrayList<>();
                for (Map.Entry<Integer, Struct> e : last.entrySet()) {
                    String expected = rows.get(e.getKey());
                    String got = e.getValue() == null ? null : e.getValue().getString("v");
                    if (!java.util.Objects.equals(expected, got)) {
                        wrong.add(e.getKey() + ": topic " + got + ", row " + expected);
                    }
                }
                rows.keySet().stream().filter(k -> !last.containsKey(k)).forEach(k -> wrong.add(k + ": never sent"));
                throw new AssertionError("The task restarted on a new slot without a word; keys whose last record "
                        + "is not the row: " + wrong);
            }
            assertTrue(failure.getMessage().contains(name) && failure.getMessage().contains("snapshot"),
                    "the failure names the slot and the recovery: " + failure.getMessage());
            assertEquals(0, db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + name + "'"),
                    "no new slot was created to hide the gap");
        }
    }

    private static void pollUntil(TaskHarness harness, Map<Integer, Struct> last, java.util.function.BooleanSupplier done)
            throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out; seen " + last.keySet());
            record(harness.poll(), last);
        }
    }

    private static void record(List<SourceRecord> records, Map<Integer, Struct> last) {
        if (records == null) {
            return;
        }
        for (SourceRecord r : records) {
            Struct key = (Struct) r.key();
            assertNotNull(key, "a keyed record");
            last.put(key.getInt32("id"), (Struct) r.value());
        }
    }
}
