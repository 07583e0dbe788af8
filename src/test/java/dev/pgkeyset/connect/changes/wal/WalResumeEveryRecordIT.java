package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.data.Struct;
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
 * The resume dedupe at every record boundary: one transaction that mixes a captured and an
 * uncaptured table, rolls a savepoint back, changes a key (a tombstone and the new row from one
 * update), updates and deletes; the task is restarted after every single record (batch.max.rows=1,
 * nothing acknowledged, so the slot re-sends the whole transaction each time). Every record
 * arrives exactly once, and each key's last record is the row (deleted keys: a tombstone).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalResumeEveryRecordIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("resume1");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("adv_a_resume_every");
        db.execute("CREATE TABLE c (id int PRIMARY KEY, v text)", "CREATE TABLE u (id int PRIMARY KEY)");
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
    void aTransactionResumedAfterEachOfItsRecordsArrivesOnceAndWhole() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, "resume1", "public\\.c", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "1");
        Map<Integer, Struct> last = new HashMap<>();
        Set<Integer> everSeen = new HashSet<>();
        Set<Map<String, ?>> offsets = new HashSet<>();
        List<String> duplicates = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(config)) {
            harness.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + name
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot streamed");
                harness.poll();
            }
            try (var conn = db.connect(); Statement st = conn.createStatement()) {
                conn.setAutoCommit(false);
                st.execute("INSERT INTO c SELECT g, 'v' || g FROM generate_series(1, 5) g");
                st.execute("INSERT INTO u VALUES (1)");
                st.execute("SAVEPOINT s");
                st.execute("UPDATE c SET v = 'rolled back' WHERE id = 1");
                st.execute("INSERT INTO c VALUES (99, 'rolled back')");
                st.execute("ROLLBACK TO SAVEPOINT s");
                st.execute("UPDATE c SET id = 10 WHERE id = 2");
                st.execute("UPDATE c SET v = 'x' WHERE id = 3");
                st.execute("INSERT INTO u VALUES (2)");
                st.execute("DELETE FROM c WHERE id = 4");
                conn.commit();
            }
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()) {
                assertTrue(System.nanoTime() < deadline, "records; seen " + offsets.size());
                List<SourceRecord> records = harness.poll();
                if (records == null) {
                    continue;
                }
                quietSince = System.nanoTime();
                for (SourceRecord r : records) {
                    if (!offsets.add(r.sourceOffset())) {
                        duplicates.add(r.sourceOffset().toString());
                    }
                    int id = ((Struct) r.key()).getInt32("id");
                    everSeen.add(id);
                    last.put(id, (Struct) r.value());
                }
                // A restart after every record: the slot re-sends the transaction from its start.
                harness.stop();
                harness.start();
            }
        }
        assertTrue(duplicates.isEmpty(), "records delivered twice: " + duplicates);
        Map<Integer, String> rows = new HashMap<>();
        try (var conn = db.connect(); Statement st = conn.createStatement();
                ResultSet rs = st.executeQuery("SELECT id, v FROM c ORDER BY id")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getString(2));
            }
        }
        List<String> wrong = new ArrayList<>();
        for (int id : everSeen) {
            Struct got = last.get(id);
            String expected = rows.get(id);
            String actual = got == null ? null : got.getString("v");
            if (!java.util.Objects.equals(expected, actual)) {
                wrong.add(id + ": row " + expected + ", last record " + actual);
            }
        }
        rows.keySet().stream().filter(id -> !everSeen.contains(id)).forEach(id -> wrong.add(id + ": never sent"));
        assertTrue(wrong.isEmpty(), "keys whose last record is not the row: " + wrong);
        // 5 inserts, the key change's tombstone and new row, one update, one delete.
        assertEquals(9, offsets.size(), "records of the transaction");
    }
}
