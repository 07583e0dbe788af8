package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ConnectorGauges;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Adversarial tests of capture.mode=wal's chunked snapshot (issue 15): each tries to break one
 * promise with a real server and a real Connect cluster. A failing test here is a break found, kept
 * failing until the code is fixed; its comment says what it shows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalChunkedSnapshotAdversaryIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final List<String> slots = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_chunk_adv");
        connect = ConnectFixture.start("wal-chunk-adv");
    }

    @AfterEach
    void dropConnectorsAndSlots() {
        for (String name : connectors) {
            try {
                connect.deleteConnector(name);
            } catch (RuntimeException ignored) {
                // gone already
            }
        }
        connectors.clear();
        slots.forEach(slot -> WalFixture.dropSlotAndPublication(db, slot));
        slots.clear();
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    /**
     * BREAK of promise 3 (no row is ever lost). A table-rewriting ALTER TABLE (here ADD COLUMN with a
     * volatile default; ALTER COLUMN ... TYPE does the same) is not MVCC-safe: a transaction whose
     * snapshot was taken before the rewrite committed sees the rewritten table empty, because every
     * tuple of the new heap carries the ALTER's xid. A chunk whose snapshot S is taken while the ALTER
     * is running (its xid in S's running list) waits for the lock in its SELECT, then reads zero rows:
     * ChunkQuery takes that for the end of the table (more=false), the snapshot is marked done, and
     * every row after the chunk's start position never gets a record. The rewrite writes no change to
     * the stream either, so nothing else brings those rows. (Query mode's keyset reads may share the
     * hole; not tested here.) The expectation is PostgreSQL's list of ids, compared with the ids the
     * topic holds. Before the fix (ChunkQuery locks the table before its snapshot): seed
     * 10247755482879, 5865 rows, chunks of 50, 5615 rows without a record (ids 251..5865).
     */
    @Test
    void aTableRewriteDuringTheSnapshotLosesNoRow() throws Exception {
        long seed = Long.getLong("adv15.seed", System.nanoTime());
        Random random = new Random(seed);
        int rows = 5_000 + random.nextInt(5_000);
        int chunk = new int[] {20, 50, 100}[random.nextInt(3)];
        System.out.println("aTableRewriteDuringTheSnapshotLosesNoRow seed " + seed + " (-Dadv15.seed=" + seed
                + "): " + rows + " rows, snapshot.chunk.size " + chunk);
        db.execute("DROP TABLE IF EXISTS rewritten",
                "CREATE TABLE rewritten (id int PRIMARY KEY, v bigint NOT NULL, pad text)",
                "INSERT INTO rewritten SELECT g, 0, md5(g::text) FROM generate_series(1, " + rows + ") g",
                "ANALYZE rewritten");
        String slot = WalFixture.uniqueName("rewrite");
        slots.add(slot);
        String name = "advrewrite";
        connectors.add(name);
        Map<String, String> config = WalFixture.walConfig(db, name, "public\\.rewritten", slot, "initial");
        config.put("snapshot.chunk.size", Integer.toString(chunk));
        config.put("batch.max.rows", "100");
        connect.configureConnector(name, config);

        TreeSet<Long> seen = new TreeSet<>();
        AtomicLong records = new AtomicLong();
        String topic = name + ".public.rewritten";
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            java.util.function.Consumer<TopicReader.Row> collect = row -> {
                records.incrementAndGet();
                if (row.value() != null) {
                    seen.add(row.value().get("id").asLong());
                }
            };
            reader.readUntil(() -> !seen.isEmpty(), TIMEOUT, collect);
            long before = records.get();
            // The rewrite holds its lock a moment, so a chunk is taken while it runs.
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("ALTER TABLE rewritten ADD COLUMN added timestamptz DEFAULT clock_timestamp()");
                st.execute("SELECT pg_sleep(1.5)");
                c.commit();
            }
            System.out.println("aTableRewriteDuringTheSnapshotLosesNoRow: " + before
                    + " record(s) read before the rewrite");
            // The end of the stream: a row written after everything else.
            db.execute("INSERT INTO rewritten (id, v) VALUES (-1, 0)");
            reader.readUntil(() -> seen.contains(-1L), TIMEOUT, collect);
            reader.readFor(Duration.ofSeconds(3), collect);
        }
        TreeSet<Long> missing = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM rewritten")) {
            while (rs.next()) {
                if (!seen.contains(rs.getLong(1))) {
                    missing.add(rs.getLong(1));
                }
            }
        }
        System.out.println("aTableRewriteDuringTheSnapshotLosesNoRow: " + records.get() + " records, "
                + missing.size() + " row(s) of the table without a record"
                + (missing.isEmpty() ? "" : ", ids " + missing.first() + ".." + missing.last()));
        assertEquals(0, missing.size(), "rows of the table that never got a record (first: "
                + (missing.isEmpty() ? "-" : missing.first()) + ")");
        db.execute("DROP TABLE rewritten");
    }

    /**
     * BREAK of promise 4 (changes of every captured table keep streaming while any table
     * snapshots). The chunk query runs on the poll thread, which is also the only reader of the
     * slot's stream, and has no lock_timeout: a session holding a lock that conflicts with the
     * chunk's ACCESS SHARE on the snapshotting table (LOCK TABLE, VACUUM FULL, CLUSTER, a table
     * rewrite, even an ALTER merely queued behind another reader) stalls the stream of every captured
     * table, and the slot's confirmed position, for as long as the lock is held. Before the fix
     * (the chunk's lock waits at most lock_timeout, then the chunk is taken again later): the other
     * table's insert arrived after 12068 ms of a 12 s lock, the slot moved 0 bytes in 11 s.
     */
    @Test
    void aLockOnTheSnapshottingTableDoesNotStopTheOtherTablesStream() throws Exception {
        db.execute("DROP TABLE IF EXISTS locked_big", "DROP TABLE IF EXISTS streaming_small",
                "CREATE TABLE locked_big (id int PRIMARY KEY, v bigint NOT NULL)",
                "INSERT INTO locked_big SELECT g, 0 FROM generate_series(1, 100000) g",
                "ANALYZE locked_big",
                "CREATE TABLE streaming_small (id int PRIMARY KEY, v bigint NOT NULL)");
        String slot = WalFixture.uniqueName("lock");
        slots.add(slot);
        String name = "advlock";
        connectors.add(name);
        Map<String, String> config = WalFixture.walConfig(db, name,
                "public\\.locked_big,public\\.streaming_small", slot, "initial");
        config.put("snapshot.chunk.size", "50");
        connect.configureConnector(name, config);
        WalFixture.awaitStreaming(db, slot, TIMEOUT);
        // A first row makes the other table's topic, so the reader below can subscribe to it.
        db.execute("INSERT INTO streaming_small VALUES (0, 0)");
        try (org.apache.kafka.clients.admin.Admin admin = connect.kafka().createAdminClient()) {
            ConnectFixture.waitFor("topic of streaming_small", TIMEOUT, () -> {
                try {
                    return admin.listTopics().names().get().contains(name + ".public.streaming_small");
                } catch (Exception e) {
                    return false;
                }
            });
        }

        String bigTopic = name + ".public.locked_big";
        String smallTopic = name + ".public.streaming_small";
        long lockSeconds = 12;
        long[] arrivedAfterMillis = {-1};
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(bigTopic, smallTopic));
             Connection locker = db.connect(); Statement lock = locker.createStatement()) {
            long[] bigRecords = new long[1];
            reader.readUntil(() -> bigRecords[0] > 0, TIMEOUT, row -> bigRecords[0] += row.topic().equals(bigTopic) ? 1 : 0);
            locker.setAutoCommit(false);
            lock.execute("LOCK TABLE locked_big IN ACCESS EXCLUSIVE MODE");
            // The lock is released after lockSeconds whatever happens, like a VACUUM FULL that ends.
            Thread release = new Thread(() -> {
                try {
                    Thread.sleep(lockSeconds * 1000);
                    locker.commit();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "lock-release");
            Thread.sleep(500);
            reader.readFor(Duration.ofMillis(500), row -> bigRecords[0] += row.topic().equals(bigTopic) ? 1 : 0);
            // The premise: the snapshot of locked_big is still running (its chunk waits for the lock).
            assertTrue(bigRecords[0] < 100_000, "locked_big's snapshot ended before the lock: " + bigRecords[0]);
            long confirmedBefore = confirmed(slot);
            long written = System.nanoTime();
            db.execute("INSERT INTO streaming_small VALUES (1, 1)");
            release.start();
            long[] confirmedDuring = {-1};
            reader.readUntil(() -> {
                if (confirmedDuring[0] < 0 && System.nanoTime() - written > (lockSeconds - 1) * 1_000_000_000L) {
                    confirmedDuring[0] = confirmed(slot);
                }
                return arrivedAfterMillis[0] >= 0;
            }, Duration.ofSeconds(lockSeconds + 30), row -> {
                if (row.topic().equals(smallTopic) && row.value() != null && row.value().get("id").asLong() == 1
                        && arrivedAfterMillis[0] < 0) {
                    arrivedAfterMillis[0] = (System.nanoTime() - written) / 1_000_000;
                }
            });
            // The slot must move too while the lock is held: the insert, once acknowledged, is confirmed.
            while (System.nanoTime() - written < (lockSeconds - 1) * 1_000_000_000L) {
                reader.readFor(Duration.ofMillis(500), row -> { });
            }
            if (confirmedDuring[0] < 0) {
                confirmedDuring[0] = confirmed(slot);
            }
            release.join();
            assertTrue(confirmedDuring[0] > confirmedBefore, "the slot's confirmed position did not move in the "
                    + (lockSeconds - 1) + " s after the insert while locked_big was locked");
            System.out.println("aLockOnTheSnapshottingTableDoesNotStopTheOtherTablesStream: the other table's insert "
                    + "arrived after " + arrivedAfterMillis[0] + " ms; a lock on the snapshotting table was held for "
                    + lockSeconds + " s; slot confirmed position moved " + (confirmedDuring[0] < 0 ? "(not sampled)"
                    : (confirmedDuring[0] - confirmedBefore) + " bytes") + " in the first " + (lockSeconds - 1)
                    + " s after the insert");
        }
        assertTrue(arrivedAfterMillis[0] >= 0 && arrivedAfterMillis[0] < 5_000,
                "an insert into streaming_small took " + arrivedAfterMillis[0] + " ms to arrive (-1: not within "
                        + (lockSeconds + 30) + " s) while another session held a lock on locked_big for " + lockSeconds
                        + " s");
        db.execute("DROP TABLE locked_big", "DROP TABLE streaming_small");
    }

    /**
     * Promises 1-3 against the window the class comment of ChunkedSnapshot names as the weakest:
     * transactions that commit around the moment a chunk's snapshot is taken. Four writers on four
     * connections commit tiny transactions (one to four counter updates, some in a savepoint that
     * is rolled back, some in one that is released) as fast as they can, with tiny chunks (10 rows),
     * while the walsender and the chunk query's session are terminated now and then. Per key the
     * counter v, which only grows, must never go down in delivery order, and every row's last
     * record must show the row's v.
     */
    @Test
    void concurrentWritersAroundEachChunksSnapshotNeverMakeACounterGoBack() throws Exception {
        raceWriters("advrace", false);
    }

    /**
     * The same workload, with the task restarted three times during the snapshot
     * (PUT /connectors/advrestart/restart?includeTasks=true): each start resumes the table after
     * its last committed key and the stream from its committed offset.
     */
    @Test
    void taskRestartsDuringTheSnapshotUnderConcurrentWritersLoseNothingAndNeverGoBack() throws Exception {
        raceWriters("advrestart", true);
    }

    private void raceWriters(String name, boolean restartTasks) throws Exception {
        long seed = Long.getLong("adv15.seed", System.nanoTime());
        Random random = new Random(seed);
        int rows = 6_000 + random.nextInt(4_000);
        System.out.println(name + " seed " + seed + " (-Dadv15.seed=" + seed + "): " + rows + " rows");
        db.execute("DROP TABLE IF EXISTS raced",
                "CREATE TABLE raced (id int PRIMARY KEY, v bigint NOT NULL)",
                "INSERT INTO raced SELECT g, 0 FROM generate_series(1, " + rows + ") g",
                "ANALYZE raced");
        String slot = WalFixture.uniqueName("race");
        slots.add(slot);
        connectors.add(name);
        Map<String, String> config = WalFixture.walConfig(db, name, "public\\.raced", slot, "initial");
        config.put("snapshot.chunk.size", "10");
        config.put("batch.max.rows", "50");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicLong commits = new AtomicLong();
        List<Thread> writers = new ArrayList<>();
        Throwable[] failure = new Throwable[1];
        for (int w = 0; w < 4; w++) {
            long writerSeed = random.nextLong();
            writers.add(new Thread(() -> {
                Random r = new Random(writerSeed);
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    c.setAutoCommit(false);
                    while (!stop.get()) {
                        int n = 1 + r.nextInt(4);
                        for (int i = 0; i < n; i++) {
                            int id = 1 + r.nextInt(rows);
                            int shape = r.nextInt(10);
                            if (shape == 0) {
                                st.execute("SAVEPOINT s");
                                st.execute("UPDATE raced SET v = v + 1 WHERE id = " + id);
                                st.execute("ROLLBACK TO SAVEPOINT s");
                            } else if (shape == 1) {
                                st.execute("SAVEPOINT s");
                                st.execute("UPDATE raced SET v = v + 1 WHERE id = " + id);
                                st.execute("RELEASE SAVEPOINT s");
                            } else {
                                st.execute("UPDATE raced SET v = v + 1 WHERE id = " + id);
                            }
                        }
                        c.commit();
                        commits.incrementAndGet();
                        // Paced (a millisecond between transactions): unpaced, four writers on
                        // 2 cores once outran the connector and Kafka after the kills, and the snapshot,
                        // which goes as fast as the stream reaches each chunk's watermark, starved
                        // (seen on 17 in CI: a chunk every 6-10 s). Still many commits around each chunk.
                        Thread.sleep(1);
                    }
                } catch (java.sql.SQLException e) {
                    if (!"40P01".equals(e.getSQLState()) && !"40001".equals(e.getSQLState())) {
                        // A deadlock, or a row moved to another partition by a concurrent update (40001), ends
                        // this writer: the workload's conflict, not the connector's.
                        failure[0] = e;
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
            }, "race-writer-" + w));
        }
        connect.configureConnector(name, config);
        writers.forEach(Thread::start);
        java.util.Map<Long, Long> lastV = new java.util.HashMap<>();
        List<String> violations = new ArrayList<>();
        AtomicLong records = new AtomicLong();
        int kills = 0;
        String topic = name + ".public.raced";
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            java.util.function.Consumer<TopicReader.Row> check = row -> {
                records.incrementAndGet();
                if (row.value() == null) {
                    return;
                }
                long id = row.value().get("id").asLong();
                long v = row.value().get("v").asLong();
                Long before = lastV.put(id, v);
                if (before != null && v < before) {
                    violations.add("id " + id + ": v " + v + " (op " + row.op() + ") after v " + before);
                }
            };
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while ((lastV.size() < rows || !ConnectorGauges.snapshotDone(name)) && System.nanoTime() < deadline) {
                reader.readFor(Duration.ofMillis(700), check);
                if (restartTasks && kills < 3 && !ConnectorGauges.snapshotDone(name)) {
                    kills++;
                    connect.restartConnectorAndTasks(name, false, true, false);
                } else if (!restartTasks && kills < 12) {
                    kills++;
                    // Alternately the walsender and any of the connector's other sessions (the chunk's).
                    db.execute(kills % 2 == 0
                            ? "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"
                                    + slot + "' AND active_pid IS NOT NULL"
                            : "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                                    + "AND backend_type = 'client backend' AND application_name LIKE '"
                                    + dev.pgkeyset.connect.pg.ConnectionFactory.APPLICATION_NAME + "%'");
                }
            }
            assertTrue(ConnectorGauges.snapshotDone(name), "the snapshot of raced did not end within " + TIMEOUT);
            stop.set(true);
            for (Thread writer : writers) {
                writer.join(30_000);
            }
            if (failure[0] != null) {
                throw new AssertionError("a writer failed", failure[0]);
            }
            db.execute("INSERT INTO raced VALUES (-1, 0)");
            reader.readUntil(() -> lastV.containsKey(-1L), TIMEOUT, check);
        }
        System.out.println(name + ": " + records.get() + " records, " + commits.get() + " commits, " + kills
                + " kills, " + violations.size() + " violation(s)");
        assertEquals(List.of(), violations.subList(0, Math.min(20, violations.size())),
                "counters going back (" + violations.size() + " in all)");
        List<String> wrong = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v FROM raced")) {
            while (rs.next()) {
                Long got = lastV.get(rs.getLong(1));
                if (got == null || got != rs.getLong(2)) {
                    wrong.add("id " + rs.getLong(1) + ": table v " + rs.getLong(2) + ", last record v " + got);
                }
            }
        }
        assertEquals(List.of(), wrong.subList(0, Math.min(20, wrong.size())),
                "rows whose last record is not the row (" + wrong.size() + " in all)");
        assertTrue(commits.get() > 1000, "the writers ran: " + commits.get());
        db.execute("DROP TABLE raced");
    }

    /**
     * Promises 1 and 2 on a partitioned table (published via its root): two writers update counters,
     * delete rows, and move rows to fresh keys in another partition (a DELETE in one partition and an
     * INSERT in another under the root's name), into the range already read, the chunk being read
     * or a future one, while the root snapshots in chunks of 25. Keys are never reused, so after a
     * key's tombstone no record of it may come; per key v never goes down; at the end each row's key
     * holds the row (rid, v) and no other key holds a live row.
     */
    @Test
    void rowsMovingAcrossPartitionsDuringTheSnapshotNeverComeBackOrGoBack() throws Exception {
        long seed = Long.getLong("adv15.seed", System.nanoTime());
        Random random = new Random(seed);
        int rows = 4_000 + random.nextInt(4_000);
        System.out.println("partitions seed " + seed + " (-Dadv15.seed=" + seed + "): " + rows + " rows");
        db.execute("DROP TABLE IF EXISTS parted",
                "CREATE TABLE parted (id bigint PRIMARY KEY, rid bigint NOT NULL, v bigint NOT NULL) PARTITION BY RANGE (id)",
                "CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (" + rows / 2 + ")",
                "CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (" + rows / 2 + ") TO (" + rows + ")",
                "CREATE TABLE parted_c PARTITION OF parted FOR VALUES FROM (" + rows + ") TO (MAXVALUE)",
                "INSERT INTO parted SELECT g, g, 0 FROM generate_series(1, " + rows + ") g",
                "ANALYZE parted");
        String slot = WalFixture.uniqueName("parted");
        slots.add(slot);
        String name = "advparted";
        connectors.add(name);
        Map<String, String> config = WalFixture.walConfig(db, name, "public\\.parted", slot, "initial");
        config.put("snapshot.chunk.size", "25");
        config.put("batch.max.rows", "200");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicLong commits = new AtomicLong();
        AtomicLong moves = new AtomicLong();
        // Fresh keys: writer w takes keys congruent to w mod 2 from a counter of its own, spread over the partitions.
        Throwable[] failure = new Throwable[1];
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int writer = w;
            long writerSeed = random.nextLong();
            writers.add(new Thread(() -> {
                Random r = new Random(writerSeed);
                long fresh = 0;
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    c.setAutoCommit(false);
                    while (!stop.get()) {
                        long rid = 1 + r.nextInt(rows);
                        int pick = r.nextInt(100);
                        if (pick < 70) {
                            st.execute("UPDATE parted SET v = v + 1 WHERE rid = " + rid);
                        } else if (pick < 95) {
                            // A fresh key below 0 (already read), in the middle (maybe the chunk being
                            // read) or far above (a future chunk, another partition).
                            fresh++;
                            long key = switch (r.nextInt(3)) {
                                case 0 -> -(fresh * 2 + writer);
                                case 1 -> (long) rows * 10 + fresh * 2 + writer;
                                default -> (long) rows * 1_000_000 + fresh * 2 + writer;
                            };
                            st.execute("UPDATE parted SET id = " + key + ", v = v + 1 WHERE rid = " + rid);
                            moves.incrementAndGet();
                        } else {
                            st.execute("DELETE FROM parted WHERE rid = " + rid);
                        }
                        c.commit();
                        commits.incrementAndGet();
                    }
                } catch (java.sql.SQLException e) {
                    if (!"40P01".equals(e.getSQLState()) && !"40001".equals(e.getSQLState())) {
                        // A deadlock, or a row moved to another partition by a concurrent update (40001), ends
                        // this writer: the workload's conflict, not the connector's.
                        failure[0] = e;
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
            }, "parted-writer-" + w));
        }
        connect.configureConnector(name, config);
        writers.forEach(Thread::start);
        java.util.Map<String, Long> lastV = new java.util.HashMap<>();
        java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> last = new java.util.HashMap<>();
        java.util.Set<String> tombstoned = new java.util.HashSet<>();
        List<String> violations = new ArrayList<>();
        AtomicLong records = new AtomicLong();
        String topic = name + ".public.parted";
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            java.util.function.Consumer<TopicReader.Row> check = row -> {
                records.incrementAndGet();
                String key = row.key().toString();
                if (tombstoned.contains(key)) {
                    violations.add("key " + key + " came back after its tombstone: op " + row.op() + " " + row.value());
                }
                if (row.value() == null) {
                    tombstoned.add(key);
                    last.put(key, null);
                    return;
                }
                long v = row.value().get("v").asLong();
                Long before = lastV.put(key, v);
                if (before != null && v < before) {
                    violations.add("key " + key + ": v " + v + " (op " + row.op() + ") after v " + before);
                }
                last.put(key, row.value());
            };
            reader.readUntil(() -> ConnectorGauges.snapshotDone(name), TIMEOUT, check);
            stop.set(true);
            for (Thread writer : writers) {
                writer.join(30_000);
            }
            if (failure[0] != null) {
                throw new AssertionError("a writer failed", failure[0]);
            }
            db.execute("INSERT INTO parted VALUES (-999999999999, -1, 0)");
            reader.readUntil(() -> last.values().stream().anyMatch(n -> n != null && n.get("rid").asLong() == -1),
                    TIMEOUT, check);
        }
        System.out.println("partitions: " + records.get() + " records, " + commits.get() + " commits, " + moves.get()
                + " key moves, " + violations.size() + " violation(s)");
        assertEquals(List.of(), violations.subList(0, Math.min(20, violations.size())),
                "records going back or coming back (" + violations.size() + " in all)");
        java.util.Map<Long, com.fasterxml.jackson.databind.JsonNode> liveByRid = new java.util.HashMap<>();
        List<String> wrong = new ArrayList<>();
        last.forEach((key, value) -> {
            if (value != null && liveByRid.put(value.get("rid").asLong(), value) != null) {
                wrong.add("rid " + value.get("rid") + " alive under two keys");
            }
        });
        int tableRows = 0;
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, rid, v FROM parted")) {
            while (rs.next()) {
                tableRows++;
                com.fasterxml.jackson.databind.JsonNode record = liveByRid.get(rs.getLong(2));
                if (record == null || record.get("id").asLong() != rs.getLong(1) || record.get("v").asLong() != rs.getLong(3)) {
                    wrong.add("row id " + rs.getLong(1) + " rid " + rs.getLong(2) + " v " + rs.getLong(3)
                            + ", last live record " + record);
                }
            }
        }
        if (tableRows != liveByRid.size()) {
            wrong.add(liveByRid.size() + " live keys for " + tableRows + " rows");
        }
        assertEquals(List.of(), wrong.subList(0, Math.min(20, wrong.size())), "last records against the table ("
                + wrong.size() + " in all)");
        assertTrue(moves.get() > 100, "rows moved: " + moves.get());
        db.execute("DROP TABLE parted");
    }


    private long confirmed(String slot) {
        return db.queryLong("SELECT coalesce(confirmed_flush_lsn - '0/0', 0) FROM pg_replication_slots WHERE slot_name = '"
                + slot + "'");
    }
}
