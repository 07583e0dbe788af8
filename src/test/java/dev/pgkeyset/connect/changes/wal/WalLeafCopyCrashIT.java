package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * A table of 20,000 rows attached to a captured partitioned table, its copy beside the stream
 * cut by SIGKILL of the worker (a real distributed worker in its own JVM) while a writer updates,
 * deletes and inserts rows of it and of the other partition; a second worker goes on from the
 * offsets the first committed. Each key's last record in the topic must equal PostgreSQL's row
 * (a deleted key ends in a tombstone, or never arrived), and the slot's last committed offset
 * must say the copy is done. The writer's operations come from a printed seed
 * ({@code -DleafCopyCrash.seed=N}).
 */
class WalLeafCopyCrashIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTACHED = 20_000;

    @Test
    void aCopyCutByKillMinus9GoesOnInTheNextWorkerAndLosesNothing() throws Exception {
        String given = System.getProperty("leafCopyCrash.seed");
        long seed = given == null || given.isBlank() ? System.nanoTime() : Long.parseLong(given);
        System.out.println("WalLeafCopyCrashIT seed " + seed + " (replay: -DleafCopyCrash.seed=" + seed + ")");
        TestDatabase db = PostgresFixture.createDatabase("wal_leaf_crash");
        String slot = WalFixture.uniqueName("leafcrash");
        String name = "leafcrash";
        EmbeddedKafkaCluster kafka = new EmbeddedKafkaCluster(1, new java.util.Properties());
        AttachedTableWriter writer = null;
        try {
            kafka.start();
            db.execute("CREATE TABLE p (id int PRIMARY KEY, n int, pad text) PARTITION BY RANGE (id)",
                    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100000)",
                    "INSERT INTO p SELECT g, 0, 'p1' FROM generate_series(1, 1000) g",
                    "CREATE TABLE q (id int PRIMARY KEY, n int, pad text)",
                    "INSERT INTO q SELECT 100000 + g, -g, repeat('q', 200) FROM generate_series(1, " + ATTACHED + ") g");
            Map<String, String> config = WalFixture.walConfig(db, name, "public\\.p", slot, "initial");
            config.put(PgKeysetConfig.SNAPSHOT_CHUNK_SIZE, "40");
            config.put(PgKeysetConfig.CATALOG_CHECK_INTERVAL_MS, "1000");
            Path dir = Path.of("target", "forked-workers");
            String group = name + "-" + System.nanoTime();
            String topic = name + ".public.p";
            Map<Integer, JsonNode> last = new HashMap<>();
            AtomicLong copied = new AtomicLong();
            java.util.function.Consumer<TopicReader.Row> each = row -> {
                int id = row.key().get("id").asInt();
                last.put(id, row.value());
                if ("r".equals(row.op()) && id > 100_000) {
                    copied.incrementAndGet();
                }
            };
            TopicReader reader = null;
            try (ForkedWorker first = ForkedWorker.start(kafka.bootstrapServers(), group, dir)) {
                first.putConnector(name, config);
                reader = new TopicReader(kafka.bootstrapServers(), List.of(topic));
                reader.readUntil(() -> last.size() >= 1000, TIMEOUT, each);
                writer = new AttachedTableWriter(db, new Random(seed).nextLong(), 100_001, ATTACHED + 500, 1000,
                        ", 'new'");
                writer.start();
                // Slow produce requests (a broker quota), so the kill lands while the copy is in flight.
                ConnectFixture.throttleProducers(kafka.bootstrapServers(), 1_000_000.0);
                db.execute("ALTER TABLE p ATTACH PARTITION q FOR VALUES FROM (100000) TO (200000)");
                reader.readUntil(() -> copied.get() >= ATTACHED / 4 && copyingCommitted(first, name), TIMEOUT,
                        each);
                first.kill();
                ConnectFixture.throttleProducers(kafka.bootstrapServers(), null);
            }
            System.out.printf("WalLeafCopyCrashIT: killed the worker with %,d copied rows in the topic%n",
                    copied.get());
            assertTrue(copied.get() < ATTACHED, "the kill landed before the copy ended");
            try (TopicReader read = reader;
                 ForkedWorker second = ForkedWorker.start(kafka.bootstrapServers(), group, dir)) {
                Thread.sleep(2000);
                assertEquals(null, writer.finish(), "the writer");
                Map<Integer, Integer> rows = WalPartitionReviewIT.rows(db);
                read.readUntil(() -> matches(last, rows) && copyDone(second, name), TIMEOUT, each);
                read.readFor(Duration.ofSeconds(2), each);
                List<String> mismatches = mismatches(last, rows);
                assertEquals(List.of(), mismatches, "each key's last record against PostgreSQL's rows of p");
            }
        } finally {
            if (writer != null) {
                writer.finish();
            }
            WalFixture.dropSlotAndPublication(db, slot);
            kafka.stop();
            db.close();
        }
    }

    /** Whether the slot's committed offset says a copy runs (so the kill cuts it after a commit). */
    private static boolean copyingCommitted(ForkedWorker worker, String connector) {
        String partitions = slotPartitions(worker, connector);
        return partitions != null && partitions.contains("copying");
    }

    private static boolean copyDone(ForkedWorker worker, String connector) {
        String partitions = slotPartitions(worker, connector);
        return partitions != null && !partitions.contains("copying");
    }

    private static String slotPartitions(ForkedWorker worker, String connector) {
        try {
            var response = worker.get("/connectors/" + connector + "/offsets");
            if (response.statusCode() != 200) {
                return null;
            }
            for (JsonNode entry : JSON.readTree(response.body()).get("offsets")) {
                if (entry.get("partition").has("slot") && entry.get("offset").has("partitions")) {
                    return entry.get("offset").get("partitions").asText();
                }
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    private static boolean matches(Map<Integer, JsonNode> last, Map<Integer, Integer> rows) {
        return mismatches(last, rows).isEmpty();
    }

    /** Keys whose last record differs from the row: a row's n, or a tombstone (or nothing) for a deleted key. */
    private static List<String> mismatches(Map<Integer, JsonNode> last, Map<Integer, Integer> rows) {
        List<String> mismatches = new java.util.ArrayList<>();
        rows.forEach((id, n) -> {
            JsonNode value = last.get(id);
            if (value == null || value.isNull() || value.get("n").asInt() != n) {
                mismatches.add(id + ": row n=" + n + ", last record " + value);
            }
        });
        last.forEach((id, value) -> {
            if (!rows.containsKey(id) && value != null && !value.isNull()) {
                mismatches.add(id + ": no row, last record " + value);
            }
        });
        return mismatches.size() > 20 ? mismatches.subList(0, 20) : mismatches;
    }
}
