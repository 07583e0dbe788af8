package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.diff;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.pollAcking;
import static dev.pgkeyset.connect.changes.wal.WalPartitionReviewIT.rows;
import static dev.pgkeyset.connect.changes.wal.WalLeafCopyReview3bIT.copiedIn;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Review 3d: DETACH PARTITION ... CONCURRENTLY whose second transaction is cancelled (q left
 * "detach pending": queries of p no longer see its rows), after q was attached with rows and
 * copied. truncate.handling=fail: the task must fail naming q, or the topic must equal p.
 */
class WalLeafCopyReview3dIT {

    @Test
    void detachConcurrentlyInterrupted() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lc3d");
        String name = uniqueName("lc3d");
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (50000) TO (100000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(50000, 50049) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT g, -g FROM generate_series(1, 300) g");
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "10");
            props.put(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, "100");
            props.put(PgKeysetConfig.TRUNCATE_HANDLING, "fail");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure = null;
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> r.size() >= 50);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (0) TO (50000)");
                pollAcking(task, records, 60_000, r -> copiedIn(r, 0, 50000) >= 300);
                pollAcking(task, records, 1000, null);
                try (Connection holder = db.connect(); Connection detacher = db.connect()) {
                    holder.setAutoCommit(false);
                    holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                    try (Statement st = holder.createStatement()) {
                        st.executeQuery("SELECT count(*) FROM p").close(); // an old snapshot the detach waits for
                    }
                    try (Statement st = detacher.createStatement()) {
                        st.execute("SET statement_timeout = '1500ms'");
                        st.execute("ALTER TABLE p DETACH PARTITION q CONCURRENTLY");
                    } catch (java.sql.SQLException e) {
                        System.out.println("Review3d: detach interrupted: " + e.getMessage());
                    }
                    holder.rollback();
                }
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'q'::regclass")) {
                    System.out.println("Review3d: q detach pending: " + (rs.next() ? rs.getBoolean(1) : "no link"));
                }
                db.execute("INSERT INTO p VALUES (60000, 6)");
                try {
                    pollAcking(task, records, 5000, null);
                } catch (Exception e) {
                    failure = e;
                }
            }
            System.out.println("Review3d: failure " + failure);
            Map<Integer, Integer> expected = rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            System.out.println("Review3d: p has " + expected.size() + " rows, topic " + live.size());
            assertTrue(failure != null || expected.equals(live), diff(expected, live));
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}
