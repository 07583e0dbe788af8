package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.diff;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.pollAcking;
import static dev.pgkeyset.connect.changes.wal.WalPartitionReviewIT.rows;
import static dev.pgkeyset.connect.changes.wal.WalLeafCopyReview3bIT.copiedIn;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Review 3c: p renamed away and back while q's copy runs. A chunk that met "relation does not
 * exist" ended the copy as if the table were gone (ReadFailures: undefined table, not read
 * again), which released the slot's hold and took the leaf out of the offsets' "copying": rows of
 * q were lost for good once a later record was committed. Fixed: while the leaf is still a
 * partition, the copy waits for the name to come back.
 */
class WalLeafCopyReview3cIT {

    @Test
    void tableRenamedAwayAndBackDuringACopy() throws Exception {
        renamedAwayAndBack("100", false);
    }

    /** The same, away and back between two looks (catalog.check.interval.ms=4000, away 300 ms). */
    @Test
    void tableRenamedAwayAndBackBetweenTwoLooks() throws Exception {
        renamedAwayAndBack("4000", true);
    }

    private static void renamedAwayAndBack(String interval, boolean background) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lc3c" + interval);
        String name = uniqueName("lc3c" + interval);
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (50000) TO (100000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(50000, 50049) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT g, -g FROM generate_series(1, 3000) g");
            Map<String, String> props = walProps(db, "public\\.p", name);
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "10");
            props.put(PgKeysetConfig.BATCH_MAX_ROWS, "5");
            props.put(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, interval);
            props.put(PgKeysetConfig.TRUNCATE_HANDLING, "skip");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure = null;
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> r.size() >= 50);
                pollAcking(task, records, 500, null);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (0) TO (50000)");
                pollAcking(task, records, 60_000, r -> copiedIn(r, 0, 50000) >= 200);
                Thread away = new Thread(() -> {
                    try {
                        db.execute("ALTER TABLE p RENAME TO p_away");
                        Thread.sleep(300);
                        db.execute("ALTER TABLE p_away RENAME TO p");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                if (background) {
                    away.start();
                    try {
                        pollAcking(task, records, 1500, null);
                    } catch (Exception e) {
                        failure = e;
                    }
                    away.join();
                    db.execute("INSERT INTO p VALUES (60000, 6)"); // a stream record after the copy ended
                } else {
                    db.execute("ALTER TABLE p RENAME TO p_away");
                    try {
                        pollAcking(task, records, 1500, null);
                    } catch (Exception e) {
                        failure = e;
                    }
                    db.execute("ALTER TABLE p_away RENAME TO p");
                }
                System.out.println("Review3c " + interval + ": copied when p was back " + copiedIn(records, 0, 50000)
                        + " failure " + failure);
                if (failure == null) {
                    try {
                        Map<Integer, Integer> expected = rows(db);
                        pollAcking(task, records, background ? 5000 : 30_000, r -> liveAfterTruncates(r).equals(expected));
                        pollAcking(task, records, 2000, null);
                        if (background) {
                            // A restart from the committed offsets: does it copy the rest?
                            task.stop();
                            task.start();
                            pollAcking(task, records, 8000, r -> liveAfterTruncates(r).equals(expected));
                            System.out.println("Review3c " + interval + ": after a restart, copied "
                                    + copiedIn(records, 0, 50000));
                        }
                    } catch (Exception e) {
                        failure = e;
                    }
                }
            }
            System.out.println("Review3c " + interval + ": failure " + failure + "; copied " + copiedIn(records, 0, 50000));
            Map<Integer, Integer> expected = rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            // Either the task failed (naming the table), or each key's last record is p's row.
            assertTrue(failure != null || expected.equals(live), diff(expected, live));
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}
