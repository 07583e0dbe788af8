package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
 * The resume dedupe compares (commit LSN, event) with the committed offset, and event counts the
 * records this task made of the transaction, i.e. of the tables it captures. A transaction that
 * wrote a, b, a, b, a is committed up to its second record (b's), then the task restarts without
 * b (table.include.list narrowed, or b dropped meanwhile): the slot re-sends the transaction, a's
 * records are now numbered 0, 1, 2, and a's second row (event 1 now) counts as committed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalEventNumberingIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("events");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("adv_a_event_numbering");
        db.execute("CREATE TABLE a (id int PRIMARY KEY, v text)", "CREATE TABLE b (id int PRIMARY KEY, v text)");
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
    void aRestartThatCapturesFewerTablesLosesNoRowOfAPartlyCommittedTransaction() throws Exception {
        Map<String, String> both = WalFixture.walConfig(db, "events", "public\\.(a|b)", name, "never");
        both.put("poll.interval.ms", "10");
        both.put("batch.max.rows", "2");
        Map<Integer, Struct> lastOfA = new HashMap<>();
        try (TaskHarness harness = new TaskHarness(both)) {
            harness.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + name
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot streamed");
                harness.poll();
            }
            try (var c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("INSERT INTO a VALUES (1, 'a1')");
                st.execute("INSERT INTO b VALUES (1, 'b1')");
                st.execute("INSERT INTO a VALUES (2, 'a2')");
                st.execute("INSERT INTO b VALUES (2, 'b2')");
                st.execute("INSERT INTO a VALUES (3, 'a3')");
                c.commit();
            }
            // One batch of two records (a1, b1): the committed offset is now (commit LSN, 1).
            List<SourceRecord> first = null;
            while (first == null) {
                assertTrue(System.nanoTime() < deadline, "first batch");
                first = harness.poll();
            }
            assertEquals(2, first.size(), "batch.max.rows=2");
            record(first, lastOfA);
            harness.stop();

            // Restart capturing a only; the slot (never confirmed: nothing acknowledged) re-sends the transaction.
            Map<String, String> onlyA = new HashMap<>(both);
            onlyA.put("table.include.list", "public\\.a");
            harness.reconfigure(onlyA).start();
            long quiet = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (System.nanoTime() < quiet) {
                record(harness.poll(), lastOfA);
            }
        }
        // Expectation from PostgreSQL: every row of a, by its last record.
        List<String> wrong = new ArrayList<>();
        try (var c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id, v FROM a ORDER BY id")) {
            while (rs.next()) {
                Struct got = lastOfA.get(rs.getInt(1));
                if (got == null || !rs.getString(2).equals(got.getString("v"))) {
                    wrong.add(rs.getInt(1) + ": row " + rs.getString(2) + ", topic " + (got == null ? "nothing" : got));
                }
            }
        }
        assertTrue(wrong.isEmpty(), "rows of a whose last record is not the row: " + wrong);
    }

    private static void record(List<SourceRecord> records, Map<Integer, Struct> lastOfA) {
        if (records == null) {
            return;
        }
        for (SourceRecord r : records) {
            if (r.topic().endsWith(".a")) {
                lastOfA.put(((Struct) r.key()).getInt32("id"), (Struct) r.value());
            }
        }
    }
}
