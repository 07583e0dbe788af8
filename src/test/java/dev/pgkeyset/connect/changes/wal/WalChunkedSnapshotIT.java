package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ConnectorGauges;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * capture.mode=wal's snapshot read in chunks beside the stream, under a workload that runs
 * through the whole snapshot: updates of a counter that only grows ({@code SET v = v + 1}),
 * inserts, hard deletes and key changes. Asserted from the topic in delivery order, with every
 * expectation from PostgreSQL or the workload's own statements: per key no record shows a smaller
 * counter after a larger one, a deleted key never comes back, every row's last record equals the
 * row, and snapshot records came between stream records (the chunks were interleaved). The key
 * type, chunk size and batch size are drawn from a printed seed ({@code -DwalChunks.seed=<n>}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalChunkedSnapshotIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final int ROWS = 20_000;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final List<String> slots = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("wal_chunks");
        connect = ConnectFixture.start("wal-chunks");
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

    /** A key type of the test table: its columns and the SQL literal of the key made from a number. */
    private enum KeyType {
        INT("k int", "k") {
            String literal(long n) {
                return Long.toString(n);
            }
        },
        TEXT("k text", "k") {
            String literal(long n) {
                return "'k" + n + "'";
            }
        },
        NUMERIC("k numeric(20,3)", "k") {
            String literal(long n) {
                return n + ".125";
            }
        },
        COMPOSITE("k int, k2 text", "k, k2") {
            String literal(long n) {
                return (n % 97) + ", 'x" + n + "'";
            }
        };

        final String columns;
        final String key;

        KeyType(String columns, String key) {
            this.columns = columns;
            this.key = key;
        }

        abstract String literal(long n);
    }

    @Test
    void eachKeysRecordsFollowTheRowsHistoryWhileTheTableSnapshotsUnderChurn() throws Exception {
        long seed = Long.getLong("walChunks.seed", System.nanoTime());
        Random random = new Random(seed);
        KeyType keyType = KeyType.values()[random.nextInt(KeyType.values().length)];
        int chunkSize = new int[] {50, 300, 2000}[random.nextInt(3)];
        int batchRows = new int[] {100, 1000, 5000}[random.nextInt(3)];
        System.out.println("WalChunkedSnapshotIT seed " + seed + " (replay: -DwalChunks.seed=" + seed + "): key "
                + keyType + ", snapshot.chunk.size " + chunkSize + ", batch.max.rows " + batchRows);

        db.execute("DROP TABLE IF EXISTS counted",
                "CREATE TABLE counted (" + keyType.columns + ", id bigint NOT NULL UNIQUE, v bigint NOT NULL, "
                        + "pad text, PRIMARY KEY (" + keyType.key + "))");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            StringBuilder insert = new StringBuilder();
            for (int i = 1; i <= ROWS; i++) {
                insert.append(insert.length() == 0 ? "INSERT INTO counted VALUES " : ", ")
                        .append('(').append(keyType.literal(i)).append(", ").append(i).append(", 0, md5('")
                        .append(i).append("'))");
                if (i % 1000 == 0) {
                    st.execute(insert.toString());
                    insert.setLength(0);
                }
            }
        }
        db.execute("ANALYZE counted");

        String slot = WalFixture.uniqueName("chunks");
        slots.add(slot);
        String name = "walchunks";
        connectors.add(name);
        Map<String, String> config = WalFixture.walConfig(db, name, "public\\.counted", slot, "initial");
        config.put("snapshot.chunk.size", Integer.toString(chunkSize));
        config.put("batch.max.rows", Integer.toString(batchRows));

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong changes = new AtomicLong();
        Workload workload = new Workload(keyType, random.nextLong(), ROWS, stop, changes, name, chunkSize);
        connect.configureConnector(name, config);
        Thread writer = new Thread(workload, "churn");
        writer.start();

        String topic = name + ".public.counted";
        Map<String, Long> lastV = new HashMap<>();
        Map<String, JsonNode> last = new HashMap<>();
        Map<String, Boolean> tombstoned = new HashMap<>();
        List<String> violations = new ArrayList<>();
        long[] snapshotAfterStream = new long[1];
        boolean[] streamSeen = new boolean[1];
        long[] records = new long[1];
        long[] snapshotRecords = new long[1];
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            java.util.function.Consumer<TopicReader.Row> check = row -> {
                records[0]++;
                String key = row.key().toString();
                if ("r".equals(row.op())) {
                    snapshotRecords[0]++;
                    if (streamSeen[0]) {
                        snapshotAfterStream[0]++;
                    }
                } else {
                    streamSeen[0] = true;
                }
                if (Boolean.TRUE.equals(tombstoned.get(key))) {
                    violations.add("key " + key + " came back after its tombstone: op " + row.op() + " " + row.value());
                }
                if (row.value() == null) {
                    tombstoned.put(key, true);
                    last.put(key, null);
                    return;
                }
                long v = row.value().get("v").asLong();
                Long before = lastV.get(key);
                if (before != null && v < before) {
                    violations.add("key " + key + ": v " + v + " (op " + row.op() + ") after v " + before);
                }
                lastV.put(key, v);
                last.put(key, row.value());
            };
            // The snapshot's rows, while the workload runs; then the workload stops and a sentinel ends the stream.
            reader.readUntil(() -> ConnectorGauges.snapshotDone(name) || violations.size() > 20, TIMEOUT, check);
            stop.set(true);
            writer.join(30_000);
            if (workload.failure != null) {
                throw new AssertionError("the workload failed", workload.failure);
            }
            db.execute("INSERT INTO counted (" + keyType.key + ", id, v) VALUES (" + keyType.literal(-1) + ", -1, 0)");
            reader.readUntil(() -> last.keySet().stream().anyMatch(k -> last.get(k) != null
                    && last.get(k).get("id").asLong() == -1), TIMEOUT, check);
        }
        long chunks = ConnectorGauges.slotGauge(name, slot, "snapshot-chunks-total");
        long dropped = ConnectorGauges.slotGauge(name, slot, "snapshot-chunk-rows-dropped-total");
        long retaken = ConnectorGauges.slotGauge(name, slot, "snapshot-chunks-retaken-total");
        System.out.println("WalChunkedSnapshotIT: " + chunks + " chunks, " + dropped + " rows dropped, " + retaken
                + " retaken (JMX)");
        assertTrue(chunks >= ROWS / chunkSize, "chunks counted over JMX: " + chunks);
        System.out.println("WalChunkedSnapshotIT: " + records[0] + " records, " + snapshotRecords[0]
                + " snapshot records (" + snapshotAfterStream[0] + " after the first stream record), "
                + changes.get() + " changes written (" + workload.inserted.get() + " inserts, " + workload.deleted.get()
                + " deletes, " + workload.keyChanges.get() + " key changes)");
        assertEquals(List.of(), violations.subList(0, Math.min(20, violations.size())),
                "records going back in a key's history (" + violations.size() + " in all)");

        // Every row's last record equals the row; no other key holds a row (deleted ones ended in tombstones).
        Map<Long, JsonNode> lastById = new HashMap<>();
        for (Map.Entry<String, JsonNode> entry : last.entrySet()) {
            if (entry.getValue() != null) {
                JsonNode previous = lastById.put(entry.getValue().get("id").asLong(), entry.getValue());
                assertEquals(null, previous, "row id " + entry.getValue().get("id") + " is alive under two keys");
            }
        }
        int rows = 0;
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, pad FROM counted")) {
            while (rs.next()) {
                rows++;
                JsonNode record = lastById.get(rs.getLong(1));
                assertTrue(record != null, "row id " + rs.getLong(1) + " has no live record");
                assertEquals(rs.getLong(2), record.get("v").asLong(), "v of row id " + rs.getLong(1));
                assertEquals(rs.getString(3), record.get("pad").isNull() ? null : record.get("pad").asText(),
                        "pad of row id " + rs.getLong(1));
            }
        }
        assertEquals(rows, lastById.size(), "keys whose last record is a row, against the table's rows");
        assertTrue(workload.deleted.get() > 0 && changes.get() > 100, "the workload ran: " + changes.get());
        assertTrue(snapshotAfterStream[0] > 0, "snapshot records came after stream records (interleaved chunks)");
    }

    /**
     * The slot's confirmed position keeps up with the server while a million-row table snapshots
     * and other tables write at least 5 MB/s of WAL: it stays within 64 MB of
     * {@code pg_current_wal_lsn()}, sampled by PostgreSQL every quarter second.
     */
    @Test
    void theSlotStaysWithin64MbOfTheServerWhileAMillionRowsSnapshot() throws Exception {
        db.execute("DROP TABLE IF EXISTS million", "DROP TABLE IF EXISTS filler",
                "CREATE TABLE million (id int PRIMARY KEY, note text)",
                "INSERT INTO million SELECT g, md5(g::text) FROM generate_series(1, 1000000) g",
                "ANALYZE million",
                "CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)");
        String slot = WalFixture.uniqueName("lag");
        slots.add(slot);
        String name = "wallag";
        connectors.add(name);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong fillerRounds = new AtomicLong();
        Throwable[] fillerFailure = new Throwable[1];
        Thread filler = new Thread(() -> {
            // About 1.1 MB of WAL per statement, ten a second at most: 5 to 11 MB/s of WAL no slot captures.
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                while (!stop.get()) {
                    st.execute("INSERT INTO filler (pad) SELECT repeat(md5(g::text), 31) FROM generate_series(1, 1000) g");
                    fillerRounds.incrementAndGet();
                    Thread.sleep(100);
                }
            } catch (Throwable e) {
                fillerFailure[0] = e;
            }
        }, "filler");
        filler.start();
        long maxBehind = 0;
        long startLsn;
        long endLsn;
        long startNanos;
        long endNanos;
        int samples = 0;
        try {
            Thread.sleep(1000);
            connect.configureConnector(name, WalFixture.walConfig(db, name, "public\\.million", slot, "initial"));
            WalFixture.awaitStreaming(db, slot, TIMEOUT);
            startLsn = db.queryLong("SELECT pg_current_wal_lsn() - '0/0'");
            startNanos = System.nanoTime();
            long deadline = startNanos + TIMEOUT.toNanos();
            while (!ConnectorGauges.snapshotDone(name)) {
                assertTrue(System.nanoTime() < deadline, "the snapshot of 1,000,000 rows did not end within " + TIMEOUT);
                long behind = db.queryLong("SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots "
                        + "WHERE slot_name = '" + slot + "'");
                maxBehind = Math.max(maxBehind, behind);
                samples++;
                Thread.sleep(250);
            }
            endLsn = db.queryLong("SELECT pg_current_wal_lsn() - '0/0'");
            endNanos = System.nanoTime();
        } finally {
            stop.set(true);
            filler.join(30_000);
        }
        if (fillerFailure[0] != null) {
            throw new AssertionError("the WAL writer failed", fillerFailure[0]);
        }
        double seconds = (endNanos - startNanos) / 1e9;
        double walMbPerSecond = (endLsn - startLsn) / seconds / (1 << 20);
        System.out.printf(java.util.Locale.ROOT, "WalChunkedSnapshotIT slot lag: snapshot of 1,000,000 rows in %.1f s, "
                + "%.1f MB/s of WAL meanwhile, slot at most %.1f MB behind pg_current_wal_lsn() over %d samples%n",
                seconds, walMbPerSecond, maxBehind / 1048576.0, samples);
        assertTrue(walMbPerSecond >= 5, "the premise: at least 5 MB/s of other WAL during the snapshot, was "
                + walMbPerSecond);
        assertTrue(samples >= 4, "samples taken during the snapshot: " + samples);
        assertTrue(maxBehind <= 64L << 20, "the slot fell " + maxBehind + " bytes behind the server");
        db.execute("DROP TABLE filler", "DROP TABLE million");
    }




    /** Transactions of one to three changes, until stopped: mostly counter updates. */
    private final class Workload implements Runnable {
        final KeyType keyType;
        final Random random;
        final AtomicBoolean stop;
        final AtomicLong changes;
        final AtomicLong inserted = new AtomicLong();
        final AtomicLong deleted = new AtomicLong();
        final AtomicLong keyChanges = new AtomicLong();
        final List<Long> live = new ArrayList<>();
        long nextKey;
        volatile Throwable failure;

        final String connector;
        final int chunkSize;

        Workload(KeyType keyType, long seed, int rows, AtomicBoolean stop, AtomicLong changes, String connector,
                 int chunkSize) {
            this.connector = connector;
            this.chunkSize = chunkSize;
            this.keyType = keyType;
            this.random = new Random(seed);
            this.stop = stop;
            this.changes = changes;
            for (long i = 1; i <= rows; i++) {
                live.add(i);
            }
            nextKey = rows + 1;
        }

        @Override
        public void run() {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                while (!stop.get()) {
                    int statements = 1 + random.nextInt(3);
                    List<Runnable> onCommit = new ArrayList<>();
                    for (int i = 0; i < statements; i++) {
                        change(st, onCommit);
                    }
                    c.commit();
                    onCommit.forEach(Runnable::run);
                    changes.addAndGet(statements);
                    // About a thousand transactions a second at most: the machine's two cores are shared.
                    Thread.sleep(1);
                }
            } catch (Throwable e) {
                failure = e;
            }
        }

        private void change(Statement st, List<Runnable> onCommit) throws SQLException {
            int pick = random.nextInt(100);
            long id = live.get(random.nextInt(live.size()));
            if (pick < 40 && (keyType == KeyType.INT || keyType == KeyType.NUMERIC)) {
                // Where the snapshot reads now (ids in key order here): the rows of the chunk waiting
                // for its watermark and of the next one, so the stream changes many of them meanwhile.
                long read = ConnectorGauges.rowsRead(connector);
                id = read + 1 + random.nextInt(2 * chunkSize);
                st.execute("UPDATE counted SET v = v + 1, pad = md5(random()::text) WHERE id = " + id);
                return;
            }
            if (pick < 75) {
                st.execute("UPDATE counted SET v = v + 1, pad = md5(random()::text) WHERE id = " + id);
            } else if (pick < 87) {
                long fresh = nextKey++;
                st.execute("INSERT INTO counted (" + keyType.key + ", id, v, pad) VALUES (" + keyType.literal(fresh)
                        + ", " + fresh + ", 0, 'new')");
                live.add(fresh);
                onCommit.add(inserted::incrementAndGet);
            } else if (pick < 97) {
                st.execute("DELETE FROM counted WHERE id = " + id);
                live.remove(id);
                onCommit.add(deleted::incrementAndGet);
            } else {
                // The key moves to a fresh value; the row (id) and its counter stay.
                st.execute("UPDATE counted SET (" + keyType.key + ") = (SELECT " + keyType.literal(nextKey++)
                        + "), v = v + 1 WHERE id = " + id);
                onCommit.add(keyChanges::incrementAndGet);
            }
        }
    }
}
