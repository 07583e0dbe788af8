package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.op;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.id;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.diff;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.pollAcking;
import static dev.pgkeyset.connect.changes.wal.WalPartitionReviewIT.rows;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Review 3b: two tables attached into a sub-partition of p (q, then r while q's copy runs), a
 * long transaction whose xid is older than both attachments that changes q's rows through p and
 * commits after several of q's chunks, and a restart with the slot offset set back to a record
 * between the two attachments (or removed).
 */
class WalLeafCopyReview3bIT {

    static long copiedIn(List<SourceRecord> records, int from, int to) {
        return records.stream().filter(x -> x.key() != null && id(x) >= from && id(x) < to
                && "r".equals(op(x))).count();
    }

    @ParameterizedTest
    @ValueSource(strings = {"between", "none", "keep"})
    void twoAttachesIntoASubPartitionWithALongTransaction(String rewind) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lc3b_" + rewind);
        String name = uniqueName("lc3b" + rewind);
        try {
            db.execute("CREATE TABLE p (id int, n int, PRIMARY KEY (id)) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100000) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1a PARTITION OF p1 FOR VALUES FROM (50000) TO (100000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(50000, 50099) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT g, -g FROM generate_series(1, 2000) g",
                    "CREATE TABLE r (n int, id int PRIMARY KEY)",
                    "INSERT INTO r SELECT -g, g FROM generate_series(3001, 4000) g");
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "13");
            props.put(PgKeysetConfig.BATCH_MAX_ROWS, "7");
            props.put(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, "100");
            props.put(PgKeysetConfig.TRUNCATE_HANDLING, "skip");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure = null;
            try (TaskHarness task = new TaskHarness(props).start();
                 Connection longTx = db.connect()) {
                longTx.setAutoCommit(false);
                pollAcking(task, records, 60_000, r -> r.size() >= 100);
                try (Statement st = longTx.createStatement()) {
                    st.execute("UPDATE p SET n = 5 WHERE id = 50001"); // xid older than the attachments
                }
                db.execute("ALTER TABLE p1 ATTACH PARTITION q FOR VALUES FROM (0) TO (2500)");
                pollAcking(task, records, 60_000, r -> copiedIn(r, 0, 2500) >= 200);
                try (Statement st = longTx.createStatement()) {
                    st.execute("UPDATE p SET n = 777 WHERE id BETWEEN 1 AND 100 OR id BETWEEN 1500 AND 1600");
                    st.execute("DELETE FROM p WHERE id BETWEEN 1700 AND 1710 OR id BETWEEN 50 AND 60");
                }
                db.execute("UPDATE p SET n = 888 WHERE id BETWEEN 1800 AND 1850");
                pollAcking(task, records, 60_000, r -> copiedIn(r, 0, 2500) >= 600);
                db.execute("INSERT INTO p VALUES (50500, 1)");
                pollAcking(task, records, 60_000, r -> r.stream().anyMatch(x -> x.key() != null && id(x) == 50500));
                Map<Map<String, Object>, Map<String, Object>> between = new HashMap<>(task.committed());
                db.execute("ALTER TABLE p1 ATTACH PARTITION r FOR VALUES FROM (2500) TO (50000)");
                pollAcking(task, records, 60_000, r -> copiedIn(r, 0, 2500) >= 1200);
                longTx.commit();
                pollAcking(task, records, 60_000, r -> copiedIn(r, 2500, 50000) >= 100);
                db.execute("UPDATE p SET n = 999 WHERE id BETWEEN 3990 AND 4000 OR id BETWEEN 1990 AND 2000");
                pollAcking(task, records, 300, null);
                task.stop();
                System.out.println("Review3b " + rewind + ": at stop q " + copiedIn(records, 0, 2500) + " r "
                        + copiedIn(records, 2500, 50000) + " committed " + task.committed());
                Map<String, Object> slot = WalOffset.partition(name);
                if ("between".equals(rewind)) {
                    task.committed().put(slot, between.get(slot));
                } else if ("none".equals(rewind)) {
                    task.committed().remove(slot);
                }
                System.out.println("Review3b " + rewind + ": restart from " + task.committed());
                task.start();
                try {
                    Map<Integer, Integer> expected = rows(db);
                    pollAcking(task, records, 90_000, r -> liveAfterTruncates(r).equals(expected));
                    pollAcking(task, records, 3000, null);
                } catch (Exception e) {
                    failure = e;
                }
            }
            System.out.println("Review3b " + rewind + ": failure " + failure);
            assertNull(failure);
            Map<Integer, Integer> expected = rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            assertTrue(expected.equals(live), diff(expected, live));
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}
