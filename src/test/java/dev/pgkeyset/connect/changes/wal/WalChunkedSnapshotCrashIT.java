package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
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
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.changes.wal.ChurnWorkload.Row;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;
import dev.pgkeyset.connect.testing.OffsetsTopic;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * capture.mode=wal with its snapshot in chunks beside the stream, on an exactly-once worker
 * (exactly.once.source.support=enabled, exactly.once.support=required): the worker JVM is
 * SIGKILLed part-way through the snapshot of 50,000 rows, after some chunks were committed, while
 * a workload of inserts, {@code v = v + 1} updates and hard deletes runs the whole time; a new
 * worker resumes. A read_committed consumer must see:
 * <ul>
 * <li>no duplicate: a snapshot reads each key once (its chunks cover disjoint key ranges, and the
 *     resumed run starts after the last committed row), so no key has two {@code r} records; and
 *     the stream delivers each (transaction, key) change once, since the workload touches a key at
 *     most once per transaction;</li>
 * <li>the resumed snapshot starts after the table offset committed before the kill (read from the
 *     offsets topic, committed transactions only): the task says so in its log, its {@code r}
 *     records all lie after that key, and the killed run's committed {@code r} records end at it;</li>
 * <li>per key, {@code v} never goes down in delivery order;</li>
 * <li>the last record of every key equals the table (as sets of rows PostgreSQL lists).</li>
 * </ul>
 * Seed: {@code -DwalChunksCrash.seed=<n>} replays one workload.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalChunkedSnapshotCrashIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TABLE = "churn";
    private static final int ROWS = 50_000;
    private static final int CHUNK = 500;
    /** The kill waits for a committed snapshot position at or past this key: several chunks committed. */
    private static final long KILL_AFTER_KEY = 3_000;
    private static final String CONNECTOR = "walchunkcrash";
    private static final String TOPIC = CONNECTOR + ".public." + TABLE;
    private static final Pattern RESUMING = Pattern.compile(
            "Table public\\." + TABLE + ": snapshot in chunks .* resuming after key (\\[[^\\]]*\\])");

    private TestDatabase db;
    private EmbeddedKafkaCluster kafka;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("wal_chunkcrash");
        Properties broker = new Properties();
        // One broker: the transaction log (exactly-once) must not ask for three replicas.
        broker.put("transaction.state.log.replication.factor", "1");
        broker.put("transaction.state.log.min.isr", "1");
        // The producer quota over 2 one-second windows: the throttle bites from the first chunk on.
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

    /** One committed record, in topic order; xid null for a snapshot record. */
    private record Delivered(long kafkaOffset, long id, String op, JsonNode value, String xid) {
    }

    private final List<Delivered> delivered = new ArrayList<>();
    private final long testStarted = System.nanoTime();

    /** Prints how far into the test a step came, to tell a slow machine from a slow step. */
    private void phase(String what) {
        System.out.printf("WalChunkedSnapshotCrashIT %5.1f s: %s%n", (System.nanoTime() - testStarted) / 1e9, what);
    }

    @Test
    void killedMidChunkedSnapshotTheResumedRunStartsAfterTheCommittedKeyAndNothingIsDuplicated() throws Exception {
        long seed = Long.getLong("walChunksCrash.seed", System.nanoTime());
        System.out.println("WalChunkedSnapshotCrashIT seed " + seed + " (replay: -DwalChunksCrash.seed=" + seed + ")");
        long started = System.nanoTime();
        db.execute("CREATE TABLE " + TABLE + " (id bigint PRIMARY KEY, v bigint NOT NULL, payload text NOT NULL, "
                        + "note text)",
                "INSERT INTO " + TABLE + " SELECT g, 0, md5(g::text) || repeat('x', g % 50), "
                        + "CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE " + TABLE);
        String slot = WalFixture.uniqueName("chunkcrash");
        String group = CONNECTOR + "-" + System.nanoTime();
        Path dir = Path.of("target", "forked-workers");
        // A small producer buffer makes the task itself wait for the throttled broker. A short
        // session and rebalance timeout let the second worker take the connector over quickly: its
        // join could otherwise wait the default minute for the killed member to rejoin (seen here).
        Map<String, String> worker = Map.of("exactly.once.source.support", "enabled",
                "producer.buffer.memory", "262144", "session.timeout.ms", "6000", "heartbeat.interval.ms", "1000",
                "rebalance.timeout.ms", "10000");
        Map<String, String> config = WalFixture.walConfig(db, CONNECTOR, "public\\." + TABLE, slot, "initial");
        config.put("exactly.once.support", "required");
        config.put("snapshot.chunk.size", Integer.toString(CHUNK));
        config.put("batch.max.rows", "200");
        ChurnWorkload workload = new ChurnWorkload(db, TABLE, ROWS, seed);
        boolean finished = false;
        long committedKey;
        String committedKeyText;
        String resumedAfter;
        long firstRunEnd;
        long writtenAtKill;
        try (OffsetsTopicHolder topics = new OffsetsTopicHolder()) {
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), 600_000.0);
            workload.start();
            try (ForkedWorker first = ForkedWorker.start(kafka.bootstrapServers(), group, dir, worker)) {
                first.putConnector(CONNECTOR, config);
                topics.offsets = new OffsetsTopic(kafka.bootstrapServers(), group + "-offsets", CONNECTOR, true);
                topics.reader = new TopicReader(kafka.bootstrapServers(), List.of(TOPIC),
                        Map.of("isolation.level", "read_committed"));
                readUntil(topics.reader, first, "a snapshot position at or past key " + KILL_AFTER_KEY + " committed",
                        () -> {
                            JsonNode table = tableOffset(topics.offsets);
                            return table != null && "snapshot".equals(table.get("phase").asText())
                                    && firstKey(table) >= KILL_AFTER_KEY;
                        });
                first.kill();
                phase("killed");
            }
            // A transaction whose commit the coordinator had begun completes on its own; the one
            // still open stays open (so the last stable offset stops before it) until the new
            // worker's producer fences it.
            Thread.sleep(1000);
            JsonNode table = tableOffset(topics.offsets);
            assertEquals("snapshot", table.get("phase").asText(), "the snapshot was not finished at the kill: " + table);
            committedKey = firstKey(table);
            committedKeyText = table.get("key").asText();
            firstRunEnd = topics.reader.endOffset(TOPIC, 0);
            // Everything written, the open transaction's records too (the high watermark).
            try (TopicReader uncommitted = new TopicReader(kafka.bootstrapServers(), List.of(TOPIC))) {
                writtenAtKill = uncommitted.endOffset(TOPIC, 0);
            }
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), null);

            phase("offsets read");
            try (ForkedWorker second = ForkedWorker.start(kafka.bootstrapServers(), group, dir, worker)) {
                phase("second worker up");
                readUntil(topics.reader, second, "the resumed snapshot complete", () -> {
                    JsonNode now = tableOffset(topics.offsets);
                    return now != null && "snapshot_complete".equals(now.get("phase").asText());
                });
                phase("resumed snapshot complete");
                resumedAfter = resumedAfterKey(second.log());
                long streamed = delivered.stream().filter(d -> d.xid != null).count();
                readUntil(topics.reader, second, "200 more stream records", () ->
                        delivered.stream().filter(d -> d.xid != null).count() > streamed + 200);
                workload.finish();
                finished = true;
                readUntil(topics.reader, second, "the marker row", () -> !delivered.isEmpty()
                        && delivered.get(delivered.size() - 1).id == ChurnWorkload.MARKER);
                topics.reader.readFor(Duration.ofSeconds(2), row -> delivered.add(delivered(row)));
            }
        } finally {
            if (!finished && workload.isAlive()) {
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

        assertEquals(committedKeyText, resumedAfter, "the resumed task's first chunk starts after the committed key");
        int[] snapshotRecords = assertSnapshotResumedAfterTheCommittedKey(firstRunEnd, committedKey);
        int streamRecords = assertEachStreamChangeOnce();
        assertCounterNeverGoesDown();
        int live = assertLastRecordsEqualTheTable();

        Map<String, Integer> ops = new HashMap<>();
        delivered.forEach(d -> ops.merge(d.op, 1, Integer::sum));
        System.out.printf("WalChunkedSnapshotCrashIT seed %d: %d s; %d rows at the start, chunks of %d; killed with "
                        + "key %d committed (about %d chunks; %d snapshot records committed before the kill, %d "
                        + "after; %d records of the transaction open at the kill, aborted); %d workload transactions, %d stream records; %d live rows at the end; records "
                        + "by op %s%n",
                seed, seconds, ROWS, CHUNK, committedKey, (committedKey + CHUNK - 1) / CHUNK, snapshotRecords[0],
                snapshotRecords[1], writtenAtKill - firstRunEnd, workload.committedTransactions(), streamRecords, live, ops);
    }

    /**
     * No key has two snapshot records; those the killed worker committed end exactly at the
     * committed key (each carries its own key as the table offset, and records and offsets commit
     * together); those of the resumed worker all lie after it. Returns the two counts.
     */
    private int[] assertSnapshotResumedAfterTheCommittedKey(long firstRunEnd, long committedKey) {
        Map<Long, Integer> reads = new HashMap<>();
        long lastBeforeKill = Long.MIN_VALUE;
        int before = 0;
        int after = 0;
        List<String> wrong = new ArrayList<>();
        for (Delivered d : delivered) {
            if (!"r".equals(d.op)) {
                continue;
            }
            if (reads.merge(d.id, 1, Integer::sum) == 2) {
                wrong.add("key " + d.id + " snapshotted twice (again at offset " + d.kafkaOffset + ")");
            }
            if (d.kafkaOffset < firstRunEnd) {
                before++;
                lastBeforeKill = Math.max(lastBeforeKill, d.id);
            } else {
                after++;
                if (d.id <= committedKey) {
                    wrong.add("the resumed snapshot read key " + d.id + ", at or before the committed key "
                            + committedKey);
                }
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " snapshot records wrong, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
        assertEquals(committedKey, lastBeforeKill, "the killed worker's last committed snapshot record is the "
                + "committed table offset's key");
        assertTrue(after > 0, "the resumed worker snapshotted the rest");
        return new int[] {before, after};
    }

    /** The workload changes a key at most once per transaction: a (transaction, key) twice is a duplicate. */
    private int assertEachStreamChangeOnce() {
        Set<String> seen = new HashSet<>();
        List<Delivered> twice = new ArrayList<>();
        int count = 0;
        for (Delivered d : delivered) {
            if (d.xid == null) {
                continue;
            }
            count++;
            if (!seen.add(d.xid + ":" + d.id)) {
                twice.add(d);
            }
        }
        assertTrue(twice.isEmpty(), twice.size() + " stream changes delivered twice, e.g. "
                + twice.subList(0, Math.min(5, twice.size())));
        assertTrue(count > 0, "changes streamed");
        return count;
    }

    /** v only grows per key in the table (across deletes and re-inserts too), so never in the topic. */
    private void assertCounterNeverGoesDown() {
        Map<Long, Long> lastV = new HashMap<>();
        List<String> wrong = new ArrayList<>();
        for (Delivered d : delivered) {
            if (d.value == null) {
                continue;
            }
            long v = d.value.get("v").asLong();
            Long previous = lastV.put(d.id, v);
            if (previous != null && v < previous) {
                wrong.add("key " + d.id + ": v " + v + " (op " + d.op + ", offset " + d.kafkaOffset + ") after v "
                        + previous);
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " records going back, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
    }

    /** The rows of the last non-tombstone records, as a set, equal the table's rows; returns their number. */
    private int assertLastRecordsEqualTheTable() throws Exception {
        Map<Long, JsonNode> last = new HashMap<>();
        delivered.forEach(d -> last.put(d.id, d.value));
        Set<Row> topic = new HashSet<>();
        last.values().stream().filter(v -> v != null).forEach(v -> topic.add(rowOf(v)));
        Set<Row> table = new HashSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, payload, note FROM " + TABLE)) {
            while (rs.next()) {
                table.add(new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
            }
        }
        Set<Row> missing = new HashSet<>(table);
        missing.removeAll(topic);
        Set<Row> extra = new HashSet<>(topic);
        extra.removeAll(table);
        assertTrue(missing.isEmpty() && extra.isEmpty(), missing.size() + " table rows not the last record of "
                + "their key, e.g. " + missing.stream().limit(5).toList() + "; " + extra.size()
                + " last records not in the table, e.g. " + extra.stream().limit(5).toList());
        return table.size();
    }

    /** What the resumed task logged as its starting point ("resuming after key [...]"). */
    private static String resumedAfterKey(Path log) throws Exception {
        for (String line : Files.readAllLines(log)) {
            Matcher m = RESUMING.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new AssertionError("the resumed worker's log " + log + " does not say where the snapshot resumes");
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
        return new Delivered(row.offset(), row.key().get("id").asLong(), row.op(), row.value(),
                row.header("pgkeyset.txid"));
    }

    private static Row rowOf(JsonNode value) {
        JsonNode note = value.get("note");
        return new Row(value.get("id").asLong(), value.get("v").asLong(), value.get("payload").asText(),
                note == null || note.isNull() ? null : note.asText());
    }

    private static JsonNode tableOffset(OffsetsTopic offsets) {
        return offsets.read().entrySet().stream().filter(e -> e.getKey().has("table"))
                .map(Map.Entry::getValue).findFirst().orElse(null);
    }

    /** The first (only) key value of a keyset offset: {@code "key": "[1500]"}. */
    private static long firstKey(JsonNode offset) {
        try {
            return JSON.readTree(offset.get("key").asText()).get(0).asLong();
        } catch (Exception e) {
            throw new AssertionError("unexpected snapshot offset " + offset, e);
        }
    }

    /** The offsets topic and the records topic, opened once the first worker runs, closed with the test. */
    private static final class OffsetsTopicHolder implements AutoCloseable {
        OffsetsTopic offsets;
        TopicReader reader;

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
