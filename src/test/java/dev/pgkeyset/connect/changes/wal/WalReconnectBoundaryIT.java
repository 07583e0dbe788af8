package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * Exactly-once boundaries across a walsender reconnect in the middle of a large transaction T,
 * after a small transaction S whose records are not acknowledged yet (so the slot is not
 * confirmed past S and re-sends it). Kafka transactions must still end exactly at the last
 * record of each PostgreSQL transaction: S's re-sent Commit must not end a Kafka transaction
 * inside T (a read_committed consumer would see T in two parts, or only its first part after
 * a crash).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalReconnectBoundaryIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int LARGE = 30_000;

    private TestDatabase db;
    private final String name = WalFixture.uniqueName("eosrc");

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("adv_a_eos_reconnect");
        db.execute("CREATE TABLE t (id int PRIMARY KEY, pad text)");
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
    void aReconnectInsideALargeTransactionKeepsItOneKafkaTransaction() throws Exception {
        Map<String, String> config = WalFixture.walConfig(db, "eosrc", "public\\.t", name, "never");
        config.put("poll.interval.ms", "10");
        config.put("batch.max.rows", "500");
        config.put("retry.backoff.ms", "50");
        try (TaskHarness harness = new TaskHarness(config).withConnectorTransactions()) {
            harness.start();
            List<SourceRecord> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + name
                    + "'") == 0) {
                assertTrue(System.nanoTime() < deadline, "slot streamed");
                add(harness.poll(), seen);
            }
            db.execute("INSERT INTO t SELECT g, 's' FROM generate_series(1, 3) g");
            db.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(4, " + (LARGE + 3) + ") g");
            // Read S and the start of T (one batch), then end the walsender while T is being sent.
            while (seen.size() < 4) {
                assertTrue(System.nanoTime() < deadline, "first records");
                add(harness.poll(), seen);
            }
            assertTrue(seen.size() < LARGE, "T not read whole before the reconnect: " + seen.size());
            assertEquals(1, db.queryLong("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots "
                    + "WHERE slot_name = '" + name + "' AND active_pid IS NOT NULL"), "walsender terminated");
            while (seen.size() < LARGE + 3) {
                assertTrue(System.nanoTime() < deadline, "all records; seen " + seen.size());
                add(harness.poll(), seen);
            }

            // Expectation from PostgreSQL: each row's inserting transaction (xmin), in stream order.
            Map<Integer, Long> xminById = new HashMap<>();
            try (var c = db.connect(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id, xmin::text::bigint FROM t")) {
                while (rs.next()) {
                    xminById.put(rs.getInt(1), rs.getLong(2));
                }
            }
            Map<Long, Integer> lastIndexOfXid = new LinkedHashMap<>();
            for (int i = 0; i < seen.size(); i++) {
                lastIndexOfXid.put(xminById.get(((Struct) seen.get(i).key()).getInt32("id")), i);
            }
            assertEquals(2, lastIndexOfXid.size(), "two PostgreSQL transactions");
            List<Integer> expected = new ArrayList<>(lastIndexOfXid.values());
            List<Integer> ends = new ArrayList<>();
            for (SourceRecord end : harness.transactionEnds()) {
                ends.add(indexOf(seen, end));
            }
            assertEquals(expected, ends, "Kafka transactions end at the last record of each PostgreSQL transaction");
        }
    }

    private static int indexOf(List<SourceRecord> seen, SourceRecord record) {
        for (int i = 0; i < seen.size(); i++) {
            if (seen.get(i) == record) {
                return i;
            }
        }
        return -1;
    }

    private static void add(List<SourceRecord> records, List<SourceRecord> seen) {
        if (records != null) {
            seen.addAll(records);
        }
    }
}
