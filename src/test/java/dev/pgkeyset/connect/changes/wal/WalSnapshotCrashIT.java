package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.changes.wal.ChurnWorkload.Change;
import dev.pgkeyset.connect.changes.wal.ChurnWorkload.Row;
import dev.pgkeyset.connect.changes.wal.ChurnWorkload.Transaction;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;
import dev.pgkeyset.connect.testing.OffsetsTopic;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * capture.mode=wal, snapshot.mode=initial with snapshot.chunked=false (snapshot first, then the
 * stream: what PostgreSQL 13 and standbys get), under a workload of inserts, updates and hard deletes
 * that runs the whole time, with the worker JVM SIGKILLed three times: right after the task made
 * the slot (nothing committed yet), part-way through the snapshot (slowed by a producer quota and
 * a small producer buffer), and mid-stream. Everything expected comes from PostgreSQL: the final
 * table, the slot's state, and what the workload's own statements returned (rows, xids, WAL
 * positions). Seed: {@code -DwalSnapshotCrash.seed=<n>} replays one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalSnapshotCrashIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String TABLE = "churn";
    private static final int ROWS = 10_000;
    private static final String CONNECTOR = "walsnapcrash";
    private static final String TOPIC = CONNECTOR + ".public." + TABLE;

    private TestDatabase db;
    private EmbeddedKafkaCluster kafka;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("wal_snapcrash");
        // The producer quota measured over 2 one-second windows rather than 11: a new client's
        // first burst (counted as if spread over the whole window) then stays small, so the
        // snapshot is slow from its start and the kill lands part-way.
        Properties broker = new Properties();
        broker.put("quota.window.num", "2");
        broker.put("quota.window.size.seconds", "1");
        kafka = new EmbeddedKafkaCluster(1, broker);
        kafka.start();
    }

    @AfterAll
    void tearDown() {
        try {
            if (kafka != null) {
                kafka.stop();
            }
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    /** One record of the topic, in topic order; xid and lsn null for a snapshot record. */
    private record Delivered(long kafkaOffset, long id, String op, JsonNode value, Long xid, String lsn) {

        boolean fromStream() {
            return lsn != null;
        }
    }

    /**
     * A WAL change's position: its transaction's commit LSN, then its index among the
     * transaction's changes. A committed offset's event is 2 x that index + a part (which record
     * of the change); the workload changes no key, so each change is one record and an offset
     * covers its change whatever the part.
     */
    private record Position(long commitLsn, long change) implements Comparable<Position> {

        static Position of(JsonNode offset) {
            return new Position(lsn(offset.get("commit_lsn").asText()), offset.get("event").asLong() / 2);
        }

        static long lsn(String text) {
            int slash = text.indexOf('/');
            return Long.parseUnsignedLong(text.substring(0, slash), 16) << 32
                    | Long.parseUnsignedLong(text.substring(slash + 1), 16);
        }

        static String text(long lsn) {
            return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
        }

        @Override
        public String toString() {
            return text(commitLsn) + " change " + change;
        }

        @Override
        public int compareTo(Position other) {
            int byLsn = Long.compareUnsigned(commitLsn, other.commitLsn);
            return byLsn != 0 ? byLsn : Long.compare(change, other.change);
        }
    }

    private final List<Delivered> delivered = new ArrayList<>();

    @Test
    void killedAfterSlotMidSnapshotAndMidStreamEveryRowEndsAsInPostgres() throws Exception {
        long seed = Long.getLong("walSnapshotCrash.seed", System.nanoTime());
        System.out.println("WalSnapshotCrashIT seed " + seed + " (replay: -DwalSnapshotCrash.seed=" + seed + ")");
        long started = System.nanoTime();
        db.execute("CREATE TABLE " + TABLE + " (id bigint PRIMARY KEY, v bigint NOT NULL, payload text NOT NULL, "
                        + "note text)",
                "INSERT INTO " + TABLE + " SELECT g, 0, md5(g::text) || repeat('x', g % 50), "
                        + "CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, " + ROWS + ") g");
        String slot = WalFixture.uniqueName("snapcrash");
        String group = "walsnapcrash-" + System.nanoTime();
        Path dir = Path.of("target", "forked-workers");
        // A small producer buffer makes the task wait for the throttled broker, so "mid-snapshot"
        // is the task's state too, not only the offsets'. A short session: restarts rebalance quickly.
        Map<String, String> worker = Map.of("producer.buffer.memory", "262144", "session.timeout.ms", "6000",
                "heartbeat.interval.ms", "1000");
        Map<String, String> config = WalFixture.walConfig(db, CONNECTOR, "public\\." + TABLE, slot, "initial");
        config.put("batch.max.rows", "200");
        // The snapshot that runs before the stream (PostgreSQL 13, standbys); the chunked snapshot
        // beside the stream has its own kill test (WalChunkedSnapshotCrashIT).
        config.put("snapshot.chunked", "false");
        ChurnWorkload workload = new ChurnWorkload(db, TABLE, ROWS, seed);
        List<Transaction> transactions = null;
        long consistentPoint;
        long snapshotKeyAtKill;
        Position streamOffsetAtKill;
        long endAfterFirstKill;
        long endAfterSnapshotKill;
        long endAfterStreamKill;
        long slotAtStreamKill;
        try (Topics topics = new Topics()) {
            workload.start();
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), 300_000.0);

            // 1. Killed once the slot exists, before anything is committed: this worker would
            // commit offsets a minute after the task's start only.
            Map<String, String> noCommitYet = new HashMap<>(worker);
            noCommitYet.put("offset.flush.interval.ms", "60000");
            try (ForkedWorker first = ForkedWorker.start(kafka.bootstrapServers(), group, dir, noCommitYet)) {
                first.putConnector(CONNECTOR, config);
                ConnectFixture.waitFor("slot " + slot + " created", TIMEOUT, () -> slotState(slot) != null
                        && !slotState(slot).active);
                first.kill();
            }
            Thread.sleep(500);
            consistentPoint = slotState(slot).confirmedFlush;
            endAfterFirstKill = endOffsetIfCreated();
            OffsetsTopic offsets = topics.openOffsets(kafka.bootstrapServers(), group + "-offsets");
            assertEquals(Map.of(), offsets.read(), "nothing committed before the first kill");

            // 2. Killed part-way through the snapshot: some of it committed, the stream never opened.
            try (ForkedWorker second = ForkedWorker.start(kafka.bootstrapServers(), group, dir, worker)) {
                TopicReader reader = topics.openReader(kafka.bootstrapServers());
                readUntil(reader, second, "a snapshot position past key 1,500 committed", () -> {
                    JsonNode table = tableOffset(offsets);
                    return table != null && "snapshot".equals(table.get("phase").asText())
                            && snapshotKey(table) >= 1_500;
                });
                SlotState beforeKill = slotState(slot);
                assertFalse(beforeKill.active, "the slot is not streamed while the snapshot runs");
                assertEquals(consistentPoint, beforeKill.confirmedFlush,
                        "the slot's position is where it was made (reused, and nothing confirmed during the snapshot)");
                second.kill();
                Thread.sleep(500);
                endAfterSnapshotKill = reader.endOffset(TOPIC, 0);
            }
            JsonNode table = tableOffset(offsets);
            assertEquals("snapshot", table.get("phase").asText(), "the snapshot was not finished at the kill");
            snapshotKeyAtKill = snapshotKey(table);
            assertNull(slotOffset(offsets), "no stream offset while the snapshot ran");
            assertEquals(consistentPoint, slotState(slot).confirmedFlush, "slot position after the snapshot kill");
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), null);

            // 3. The snapshot resumes and ends, the stream runs; killed mid-stream.
            try (ForkedWorker third = ForkedWorker.start(kafka.bootstrapServers(), group, dir, worker)) {
                TopicReader reader = topics.reader;
                // Killed as soon as a stream offset is committed: the changes written during the
                // snapshot are then still being streamed, and some delivered after that offset.
                readUntil(reader, third, "a stream offset committed", () -> slotOffset(offsets) != null);
                third.kill();
                Thread.sleep(500);
                endAfterStreamKill = reader.endOffset(TOPIC, 0);
            }
            assertEquals("snapshot_complete", tableOffset(offsets).get("phase").asText(),
                    "the snapshot was complete at the stream kill");
            streamOffsetAtKill = Position.of(slotOffset(offsets));
            slotAtStreamKill = slotState(slot).confirmedFlush;

            // 4. Streams again; the workload stops, its marker row must arrive.
            try (ForkedWorker fourth = ForkedWorker.start(kafka.bootstrapServers(), group, dir, worker)) {
                TopicReader reader = topics.reader;
                long streamedBefore = delivered.stream().filter(Delivered::fromStream).count();
                readUntil(reader, fourth, "the fourth worker streaming", () ->
                        delivered.stream().filter(Delivered::fromStream).count() > streamedBefore + 200);
                transactions = workload.finish();
                readUntil(reader, fourth, "the marker row", () -> !delivered.isEmpty()
                        && delivered.get(delivered.size() - 1).id == ChurnWorkload.MARKER);
                reader.readFor(Duration.ofSeconds(1), row -> delivered.add(delivered(row)));
            }
        } finally {
            if (transactions == null && workload.isAlive()) {
                try {
                    workload.finish();
                } catch (AssertionError ignored) {
                    // the test's own failure is the one to report
                }
            }
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), null);
            WalFixture.dropSlotAndPublication(db, slot);
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;

        Map<Long, Delivered> last = new HashMap<>();
        delivered.forEach(d -> last.put(d.id, d));
        Set<Long> live = assertLastRecordsEqualTheTable(last);
        assertDeletedKeysEndInTombstones(last, live, workload.everPresent(), transactions, consistentPoint);
        int redelivered = assertStreamMatchesTheWorkload(transactions, consistentPoint, streamOffsetAtKill);
        int snapshotRepeats = assertSnapshotResumedAfterItsCommittedKey(endAfterFirstKill, endAfterSnapshotKill,
                snapshotKeyAtKill);

        Map<String, Integer> ops = new HashMap<>();
        delivered.forEach(d -> ops.merge(d.op, 1, Integer::sum));
        System.out.printf("WalSnapshotCrashIT seed %d: %d s, %d transactions, %d live rows, records by op %s; "
                        + "slot made at %s; snapshot killed with key %d committed (first run's records end at "
                        + "%d, second's at %d), %d snapshot rows read again; stream killed with %s committed "
                        + "(records up to %d; slot confirmed at %s), %d stream records re-delivered%n",
                seed, seconds, transactions.size(), live.size(), ops, Position.text(consistentPoint), snapshotKeyAtKill,
                endAfterFirstKill, endAfterSnapshotKill, snapshotRepeats, streamOffsetAtKill, endAfterStreamKill,
                Position.text(slotAtStreamKill), redelivered);
    }

    /** Every row of the table (ORDER BY id) has its last record equal to it; returns the live ids. */
    private Set<Long> assertLastRecordsEqualTheTable(Map<Long, Delivered> last) throws Exception {
        Set<Long> live = new HashSet<>();
        List<String> wrong = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, payload, note FROM " + TABLE + " ORDER BY id")) {
            while (rs.next()) {
                Row row = new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4));
                live.add(row.id());
                Delivered d = last.get(row.id());
                if (d == null || !row.equals(rowOf(d.value))) {
                    wrong.add(row + " last record " + (d == null ? "none" : d));
                }
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " live rows whose last record differs, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
        return live;
    }

    /**
     * A key with records but no row ends in a tombstone; a key that had a row and has none now has
     * no record at all only if its last delete may have committed before the slot's position (the
     * stream does not carry it, and the snapshot may have found the row gone already).
     */
    private void assertDeletedKeysEndInTombstones(Map<Long, Delivered> last, Set<Long> live, Set<Long> everPresent,
                                                  List<Transaction> transactions, long consistentPoint) {
        Map<Long, Long> lastDeleteBelow = new HashMap<>();
        for (Transaction t : transactions) {
            t.changes().stream().filter(ch -> ch.op() == 'd').forEach(ch -> lastDeleteBelow.put(ch.id(), t.lsnBelow()));
        }
        List<String> wrong = new ArrayList<>();
        int tombstones = 0;
        for (long id : everPresent) {
            if (live.contains(id)) {
                continue;
            }
            Delivered d = last.get(id);
            if (d != null) {
                if (d.value != null) {
                    wrong.add("deleted id " + id + " ends with " + d);
                }
                tombstones++;
            } else if (!lastDeleteBelow.containsKey(id) || lastDeleteBelow.get(id) > consistentPoint) {
                wrong.add("deleted id " + id + " (after the slot's position) has no record");
            }
        }
        last.keySet().stream().filter(id -> !everPresent.contains(id) && !live.contains(id))
                .forEach(id -> wrong.add("id " + id + " never written has records"));
        assertTrue(wrong.isEmpty(), wrong.size() + " deleted keys wrong, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
        assertTrue(tombstones > 0, "deletes were captured");
    }

    /**
     * Every stream record is a change the workload made, equal to what RETURNING gave; the first
     * deliveries come in WAL order (so v only grows per key); every change of a transaction that
     * committed after the slot's position arrives; a change delivered again lies after the WAL
     * offset committed before the mid-stream kill. Returns the number of re-deliveries.
     */
    private int assertStreamMatchesTheWorkload(List<Transaction> transactions, long consistentPoint,
                                               Position committedAtKill) {
        Map<String, Change> changes = new HashMap<>();
        transactions.forEach(t -> t.changes().forEach(ch -> changes.put(ch.xid() + ":" + ch.id(), ch)));
        Set<String> seen = new HashSet<>();
        Map<Long, Long> lastV = new HashMap<>();
        Position previous = null;
        int redelivered = 0;
        for (Delivered d : delivered) {
            if (!d.fromStream()) {
                continue;
            }
            Change change = changes.get(d.xid + ":" + d.id);
            assertNotNull(change, "a stream record the workload did not write: " + d);
            assertEquals(String.valueOf(change.op()), d.op, "op of " + d);
            assertEquals(change.row(), rowOf(d.value), "record " + d + " equals the row RETURNING gave");
            Position position = new Position(Position.lsn(d.lsn), change.index());
            if (seen.add(d.xid + ":" + d.id)) {
                assertTrue(previous == null || position.compareTo(previous) > 0,
                        "first deliveries in WAL order: " + position + " after " + previous + " (" + d + ")");
                previous = position;
                if (change.row() != null) {
                    Long before = lastV.put(d.id, change.row().v());
                    assertTrue(before == null || before < change.row().v(), "v went back for id " + d.id
                            + " in the stream: " + before + " then " + d);
                }
            } else {
                redelivered++;
                assertTrue(position.compareTo(committedAtKill) > 0, "re-delivered " + d + " at " + position
                        + " though the offset committed before the kill covered it: " + committedAtKill);
            }
        }
        List<Change> missing = new ArrayList<>();
        for (Transaction t : transactions) {
            if (t.lsnBelow() > consistentPoint) {
                t.changes().stream().filter(ch -> !seen.contains(ch.xid() + ":" + ch.id())).forEach(missing::add);
            }
        }
        assertTrue(missing.isEmpty(), missing.size() + " changes committed after the slot's position never "
                + "streamed, e.g. " + missing.subList(0, Math.min(5, missing.size())));
        return redelivered;
    }

    /**
     * Snapshot records after the first run (which committed nothing, so all of it may come again):
     * the resumed run starts after the key committed before the kill, so only keys past it come twice.
     */
    private int assertSnapshotResumedAfterItsCommittedKey(long firstRunEnd, long secondRunEnd, long committedKey) {
        Map<Long, Integer> reads = new HashMap<>();
        int repeats = 0;
        for (Delivered d : delivered) {
            if (d.fromStream() || d.kafkaOffset < firstRunEnd) {
                continue;
            }
            assertEquals("r", d.op, "a snapshot record " + d);
            if (d.kafkaOffset >= secondRunEnd) {
                assertTrue(d.id > committedKey, "the resumed snapshot read id " + d.id + ", at or before the "
                        + "committed key " + committedKey);
            }
            if (reads.merge(d.id, 1, Integer::sum) > 1) {
                repeats++;
                assertTrue(d.id > committedKey, "snapshot row " + d.id + " read again though key " + committedKey
                        + " was committed");
            }
        }
        assertTrue(reads.keySet().stream().anyMatch(id -> id > committedKey)
                && delivered.stream().anyMatch(d -> !d.fromStream() && d.kafkaOffset >= secondRunEnd),
                "the snapshot resumed after the kill");
        return repeats;
    }

    /** The topic's end offset, 0 while it does not exist (the worker creates it with the first records). */
    private long endOffsetIfCreated() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            if (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(TOPIC)) {
                return 0;
            }
            TopicPartition partition = new TopicPartition(TOPIC, 0);
            return admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                    .get(30, TimeUnit.SECONDS).offset();
        }
    }

    private void readUntil(TopicReader reader, ForkedWorker worker, String what, BooleanSupplier done)
            throws Exception {
        try {
            reader.readUntil(done, TIMEOUT, row -> delivered.add(delivered(row)));
        } catch (AssertionError e) {
            throw new AssertionError("waiting for " + what + ": " + e.getMessage() + "; connector status "
                    + worker.get("/connectors/" + CONNECTOR + "/status").body(), e);
        }
    }

    private static Delivered delivered(TopicReader.Row row) {
        String xid = row.header("pgkeyset.txid");
        return new Delivered(row.offset(), row.key().get("id").asLong(), row.op(), row.value(),
                xid == null ? null : Long.valueOf(xid), row.header("pgkeyset.lsn"));
    }

    private static Row rowOf(JsonNode value) {
        if (value == null) {
            return null;
        }
        JsonNode note = value.get("note");
        return new Row(value.get("id").asLong(), value.get("v").asLong(), value.get("payload").asText(),
                note == null || note.isNull() ? null : note.asText());
    }

    private static JsonNode tableOffset(OffsetsTopic offsets) {
        return offsetWith(offsets, "table");
    }

    private static JsonNode slotOffset(OffsetsTopic offsets) {
        return offsetWith(offsets, "slot");
    }

    private static JsonNode offsetWith(OffsetsTopic offsets, String partitionField) {
        return offsets.read().entrySet().stream().filter(e -> e.getKey().has(partitionField))
                .map(Map.Entry::getValue).findFirst().orElse(null);
    }

    /** The first (only) key value of a keyset offset: {@code "key": "[1500]"}. */
    private static long snapshotKey(JsonNode offset) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(offset.get("key").asText()).get(0)
                    .asLong();
        } catch (Exception e) {
            throw new AssertionError("unexpected snapshot offset " + offset, e);
        }
    }

    private record SlotState(boolean active, long confirmedFlush) {
    }

    private SlotState slotState(String slot) {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT active, (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint "
                     + "FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND confirmed_flush_lsn IS NOT NULL")) {
            return rs.next() ? new SlotState(rs.getBoolean(1), rs.getLong(2)) : null;
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The offsets topic and the records topic, each opened once a worker created it and read by
     * one consumer for the whole test (so no record is read twice); closed with the test.
     */
    private static final class Topics implements AutoCloseable {
        OffsetsTopic offsets;
        TopicReader reader;

        OffsetsTopic openOffsets(String bootstrapServers, String name) throws InterruptedException {
            offsets = new OffsetsTopic(bootstrapServers, name, CONNECTOR);
            return offsets;
        }

        TopicReader openReader(String bootstrapServers) {
            reader = new TopicReader(bootstrapServers, List.of(TOPIC));
            return reader;
        }

        @Override
        public void close() {
            try {
                if (reader != null) {
                    reader.close();
                }
            } finally {
                if (offsets != null) {
                    offsets.close();
                }
            }
        }
    }

}
