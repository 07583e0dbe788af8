package dev.pgkeyset.connect.changes.wal;

import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.copiedAtLeast;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.id;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.op;
import static dev.pgkeyset.connect.changes.wal.LeafCopyRecords.pollAcking;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.liveAfterTruncates;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.lookingEverySecond;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.pollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.startAndPollFor;
import static dev.pgkeyset.connect.changes.wal.WalMidStreamAdversaryIT.uniqueName;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.pollUntil;
import static dev.pgkeyset.connect.changes.wal.WalValuesIT.walProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * An adversarial review's attacks on the copy of a partition attached with rows
 * (capture.mode=wal), each of which lost rows of the attached table before its fix: restarts
 * from committed offsets Kafka Connect may legitimately hold while the slot was confirmed
 * further (fixed by holding the slot at the partition message until the copy is done, and by
 * the partitions in a partitioned table's snapshot offsets), rows whose xid is newer than the
 * attaching transaction's (fixed by copying any row of a leaf that joined), and keys moved
 * between the copied leaf and another during the copy (held from the start). Each asserts that
 * each key's last record equals PostgreSQL's row of p.
 */
class WalLeafCopyReviewIT {

    private static String missing(Map<Integer, Integer> expected, Map<Integer, Integer> actual) {
        TreeSet<Integer> keys = new TreeSet<>(expected.keySet());
        keys.removeAll(actual.keySet());
        return keys.size() + " key(s) of p have no live record" + (keys.isEmpty() ? ""
                : " (first " + keys.first() + ", last " + keys.last() + ")");
    }

    /**
     * Attack 1: the slot's partition never had an offset flushed (the only slot-partition records
     * so far are copy rows; a worker killed before its first offset flush). The slot itself was
     * confirmed past the partition message before the first copy chunk (the reader was idle).
     * Restarted, the task had no fingerprint to compare with and the message was not re-sent.
     */
    @Test
    void restartWithNoSlotOffsetAfterTheMarkerWasConfirmed() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lcb_null");
        String name = uniqueName("lcbnull");
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 50) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 1000) g");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "10");
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.size() >= 50);
                pollFor(task, records, 1500);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                pollUntil(task, records, r -> copiedAtLeast(r, 5000) >= 100);
                task.stop();
                System.out.println("WalLeafCopyReviewIT null: copied before stop " + copiedAtLeast(records, 5000)
                        + ", committed slot offset " + task.committed().get(WalOffset.partition(name)));
                task.committed().remove(WalOffset.partition(name));
                assertNull(startAndPollFor(task, records, 6000), "restarted");
                Map<Integer, Integer> expected = WalPartitionReviewIT.rows(db);
                Map<Integer, Integer> live = liveAfterTruncates(records);
                assertEquals(expected.size(), live.size(), missing(expected, live));
                assertEquals(expected, live);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * Attack 2: a worker that acknowledges records (commitRecord, so the slot is confirmed) and
     * flushes offsets later. The committed slot offset is that of a stream record produced after
     * the look that saw q (its fingerprint already lists q, without "copying") but before the
     * partition message in the stream; the slot was confirmed past the message by the
     * acknowledged copy rows. Restarted, no change was seen and the message was not re-sent.
     */
    @Test
    void restartFromARecordBetweenTheLookAndItsMessageWithAcknowledgements() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lcb_ack");
        String name = uniqueName("lcback");
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (5000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 50) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 1000) g");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "10");
            props.put(PgKeysetConfig.BATCH_MAX_ROWS, "50");
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollAcking(task, records, 60_000, r -> r.size() >= 50);
                pollAcking(task, records, 1500, null);
                // 2000 stream rows committed just before the ATTACH, not yet read when the next look runs.
                db.execute("INSERT INTO p SELECT g, 1 FROM generate_series(1000, 2999) g",
                        "ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                long oid;
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT 'q'::regclass::oid")) {
                    rs.next();
                    oid = rs.getLong(1);
                }
                Thread.sleep(1500);
                pollAcking(task, records, 60_000, r -> copiedAtLeast(r, 5000) >= 100);
                task.stop();
                // A stream record of the insert whose offset lists q already and no copy.
                Map<String, Object> window = null;
                for (SourceRecord r : records) {
                    if (!r.sourcePartition().containsKey(WalOffset.SLOT) || r.key() == null || id(r) >= 5000) {
                        continue;
                    }
                    @SuppressWarnings("unchecked")
                    Map<String, Object> offset = (Map<String, Object>) r.sourceOffset();
                    String partitions = WalOffset.partitions(offset);
                    if (partitions != null && partitions.contains("[" + oid + ",") && !partitions.contains("copying")) {
                        window = offset;
                        break;
                    }
                }
                assertNotNull(window, "a stream record made after the look, before its message");
                System.out.println("WalLeafCopyReviewIT ack: copied before stop " + copiedAtLeast(records, 5000)
                        + ", committed slot offset set back to " + window);
                task.committed().put(WalOffset.partition(name), window);
                assertNull(startAndPollFor(task, records, 6000), "restarted");
                Map<Integer, Integer> expected = WalPartitionReviewIT.rows(db);
                Map<Integer, Integer> live = liveAfterTruncates(records);
                assertEquals(expected.size(), live.size(), missing(expected, live));
                assertEquals(expected, live);
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
    /**
     * Attack 3: q's only rows were written while it was a plain table (never published) by a
     * transaction whose xid is newer than that of the transaction that attaches it. The
     * "older than its attachment" test compared xid ages, so these rows looked streamed.
     *
     * @param subtransaction the rows come from a savepoint of the attaching transaction itself
     *                       (else from another session that committed before the ATTACH)
     */
    private static void rowsNewerThanTheAttachingXid(String purpose, boolean subtransaction) throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lcb_" + purpose);
        String name = uniqueName("lcb" + purpose);
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 50) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "10");
            List<SourceRecord> records = new ArrayList<>();
            Exception failure;
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.size() >= 50);
                pollFor(task, records, 1500);
                try (Connection a = db.connect(); Statement sa = a.createStatement()) {
                    a.setAutoCommit(false);
                    sa.execute("SELECT txid_current()"); // the attaching transaction's xid, taken first
                    if (subtransaction) {
                        sa.execute("SAVEPOINT load");
                        sa.execute("INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 500) g");
                        sa.execute("RELEASE SAVEPOINT load");
                    } else {
                        try (Connection b = db.connect(); Statement sb = b.createStatement()) {
                            b.setAutoCommit(true);
                            sb.execute("INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 500) g");
                        }
                    }
                    sa.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                    a.commit();
                }
                failure = pollFor(task, records, 5000);
            }
            Map<Integer, Integer> expected = WalPartitionReviewIT.rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            assertNull(failure, "the rows are copied");
            assertEquals(expected.size(), live.size(), missing(expected, live));
            assertEquals(expected, live);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    @Test
    void rowsLoadedByAnotherSessionAfterTheAttachingTransactionTookItsXid() throws Exception {
        rowsNewerThanTheAttachingXid("othersess", false);
    }

    @Test
    void rowsLoadedInASavepointOfTheAttachingTransaction() throws Exception {
        rowsNewerThanTheAttachingXid("savepoint", true);
    }
    /**
     * Attack 4: the connector snapshotted p (table partition offsets only: nothing changed in p
     * since, so the slot's partition has no offset), is stopped, q is attached with rows while no
     * task runs, and the connector starts again. There was no fingerprint to compare with (q was
     * taken as it is); the snapshot's offsets carry one now.
     */
    @Test
    void attachWhileNoTaskRunsBeforeAnyStreamRecord() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("wal_lcb_down");
        String name = uniqueName("lcbdown");
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 50) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 500) g");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.size() >= 50);
                pollFor(task, records, 2500);
                task.stop();
                System.out.println("WalLeafCopyReviewIT down: committed offsets at stop " + task.committed());
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                assertNull(startAndPollFor(task, records, 5000), "restarted");
            }
            Map<Integer, Integer> expected = WalPartitionReviewIT.rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            assertEquals(expected.size(), live.size(), missing(expected, live));
            assertEquals(expected, live);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
    /**
     * Attack 5: while q's rows are copied, a writer moves rows between q and p1 by updating their
     * key (UPDATE p SET id = id -/+ 4000: a cross-partition update, a delete and an insert in the
     * stream) and updates/deletes others. Seeded: -DleafCopyBreak.seed=N.
     */
    @Test
    void keysMovedBetweenTheCopiedPartitionAndAnotherDuringTheCopy() throws Exception {
        String given = System.getProperty("leafCopyBreak.seed");
        long seed = given == null || given.isBlank() ? System.nanoTime() : Long.parseLong(given);
        System.out.println("WalLeafCopyReviewIT move seed " + seed);
        java.util.Random random = new java.util.Random(seed);
        TestDatabase db = PostgresFixture.createDatabase("wal_lcb_move");
        String name = uniqueName("lcbmove");
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread writer = null;
        try {
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (5000)",
                    "INSERT INTO p SELECT g, 0 FROM generate_series(1, 50) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int)",
                    "INSERT INTO q SELECT 5000 + g, -g FROM generate_series(1, 1500) g");
            Map<String, String> props = lookingEverySecond(walProps(db, "public\\.p", name));
            props.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, Integer.toString(3 + random.nextInt(20)));
            List<SourceRecord> records = new ArrayList<>();
            try (TaskHarness task = new TaskHarness(props).start()) {
                pollUntil(task, records, r -> r.size() >= 50);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (5000) TO (10000)");
                long writerSeed = random.nextLong();
                writer = new Thread(() -> {
                    java.util.Random w = new java.util.Random(writerSeed);
                    try (Connection c = db.connect(); Statement st = c.createStatement()) {
                        int n = 1;
                        while (writing.get()) {
                            int k = 1 + w.nextInt(1500);
                            String sql = switch (w.nextInt(5)) {
                                case 0 -> "UPDATE p SET id = id - 4000, n = " + n + " WHERE id = " + (5000 + k);
                                case 1 -> "UPDATE p SET id = id + 4000, n = " + n + " WHERE id = " + (1000 + k);
                                case 2 -> "UPDATE p SET n = " + n + " WHERE id IN (" + (5000 + k) + ", " + (1000 + k) + ")";
                                case 3 -> "DELETE FROM p WHERE id = " + (5000 + k);
                                default -> "BEGIN; UPDATE p SET id = id - 4000 WHERE id = " + (5000 + k)
                                        + "; UPDATE p SET id = id + 4000, n = " + n + " WHERE id = " + (1000 + k)
                                        + "; COMMIT";
                            };
                            try {
                                st.execute(sql);
                            } catch (java.sql.SQLException e) {
                                if (!"23505".equals(e.getSQLState())) {
                                    throw e;
                                }
                                try (Statement rb = c.createStatement()) {
                                    rb.execute("ROLLBACK");
                                }
                            }
                            n++;
                            Thread.sleep(w.nextInt(2));
                        }
                    } catch (Exception e) {
                        failed.set(e);
                    }
                }, "mover");
                writer.start();
                pollFor(task, records, 6000);
                writing.set(false);
                writer.join(30_000);
                assertNull(failed.get(), "the writer");
                assertNull(pollFor(task, records, 4000), "the task goes on");
            }
            Map<Integer, Integer> expected = WalPartitionReviewIT.rows(db);
            Map<Integer, Integer> live = liveAfterTruncates(records);
            assertEquals(expected, live, "each key's last record against p (seed " + seed + ")");
        } finally {
            writing.set(false);
            if (writer != null) {
                writer.join(30_000);
            }
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}
