package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.testing.CommittedOffsets;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * A worker killed with SIGKILL in the middle of a snapshot: a new worker resumes the table at the
 * last committed key. Rows at or before the key committed before the kill are never read again;
 * only rows after it may arrive twice (at-least-once), and every row arrives. With exactly-once
 * support enabled on the workers, every row arrives exactly once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerCrashIT {

    private static final int ROWS = 200_000;
    private static final Duration TIMEOUT = Duration.ofMinutes(4);
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestDatabase db;
    private EmbeddedKafkaCluster kafka;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("worker_crash");
        db.execute("CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL)",
                "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE events");
        Properties broker = new Properties();
        // One broker: the transaction log (exactly-once) must not ask for three replicas.
        broker.put("transaction.state.log.replication.factor", "1");
        broker.put("transaction.state.log.min.isr", "1");
        kafka = new EmbeddedKafkaCluster(1, broker);
        kafka.start();
    }

    @AfterAll
    void tearDown() {
        if (kafka != null) {
            kafka.stop();
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    void resumesAtTheCommittedKeyAfterTheWorkerIsKilled() throws Exception {
        int[] seen = copyKillingTheFirstWorker("crash", Map.of(), Map.of());
        int duplicates = 0;
        for (int id = 1; id <= ROWS; id++) {
            if (id <= keyBeforeKill) {
                assertEquals(1, seen[id], "row " + id + " at or before the key committed before the kill ("
                        + keyBeforeKill + ") must not be read again");
            }
            duplicates += Math.max(0, seen[id] - 1);
        }
        System.out.printf("worker killed: committed key before the kill %d, %d rows re-delivered%n",
                keyBeforeKill, duplicates);
        assertTrue(duplicates < ROWS - keyBeforeKill, "re-delivery is bounded by what followed the committed key");
    }

    /**
     * KIP-618: with exactly.once.source.support=enabled, records and offsets commit in one
     * transaction, so a read_committed consumer sees every row once even across a SIGKILL.
     */
    @Test
    void exactlyOnceAcrossAKilledWorker() throws Exception {
        int[] seen = copyKillingTheFirstWorker("eos", Map.of("exactly.once.source.support", "enabled"),
                Map.of("exactly.once.support", "required"));
        for (int id = 1; id <= ROWS; id++) {
            assertEquals(1, seen[id], "row " + id + " seen exactly once by a read_committed consumer");
        }
        System.out.printf("exactly once: committed key before the kill %d, every row once%n", keyBeforeKill);
    }

    private long keyBeforeKill;

    /** Copies the table through forked workers, killing the first mid-table; returns how often each id arrived. */
    private int[] copyKillingTheFirstWorker(String name, Map<String, String> workerProps,
                                            Map<String, String> connectorProps) throws Exception {
        Path dir = Path.of("target", "forked-workers");
        String group = name + "-" + System.nanoTime();
        Map<String, String> config = db.connectorConfig(name, "public\\.events");
        config.put("tasks.max", "1");
        config.put("batch.max.rows", "500");
        config.putAll(connectorProps);

        ConnectFixture.throttleProducers(kafka.bootstrapServers(), 2_000_000.0);
        try (ForkedWorker first = ForkedWorker.start(kafka.bootstrapServers(), group, dir, workerProps)) {
            first.putConnector(name, config);
            ConnectFixture.waitFor("a committed key past 20000", TIMEOUT, () -> committedKey(first, name) > 20_000);
            keyBeforeKill = committedKey(first, name);
            first.kill();
        } finally {
            ConnectFixture.throttleProducers(kafka.bootstrapServers(), null);
        }
        assertTrue(keyBeforeKill < ROWS, "killed mid-table (committed key " + keyBeforeKill + ")");

        int[] seen = new int[ROWS + 1];
        AtomicLong distinct = new AtomicLong();
        try (ForkedWorker second = ForkedWorker.start(kafka.bootstrapServers(), group, dir, workerProps);
             TopicReader reader = new TopicReader(kafka.bootstrapServers(), List.of(name + ".public.events"),
                     Map.of("isolation.level", "read_committed"))) {
            reader.readUntil(() -> distinct.get() == ROWS, TIMEOUT, row -> {
                if (seen[row.key().get("id").asInt()]++ == 0) {
                    distinct.incrementAndGet();
                }
            });
            reader.readFor(Duration.ofSeconds(2), row -> seen[row.key().get("id").asInt()]++);
            ConnectFixture.waitFor("the snapshot to be committed as complete", TIMEOUT,
                    () -> committedPhase(second, name).equals("snapshot_complete"));
        }
        return seen;
    }

    private static long committedKey(ForkedWorker worker, String connector) {
        JsonNode offset = offsetOf(worker, connector);
        return offset == null ? -1 : CommittedOffsets.firstKeyValue(Map.of("key", offset.get("key").asText()));
    }

    private static String committedPhase(ForkedWorker worker, String connector) {
        JsonNode offset = offsetOf(worker, connector);
        return offset == null ? "" : offset.get("phase").asText();
    }

    private static JsonNode offsetOf(ForkedWorker worker, String connector) {
        try {
            var response = worker.get("/connectors/" + connector + "/offsets");
            if (response.statusCode() != 200) {
                return null;
            }
            JsonNode offsets = JSON.readTree(response.body()).get("offsets");
            return offsets == null || offsets.isEmpty() ? null : offsets.get(0).get("offset");
        } catch (Exception e) {
            return null;
        }
    }
}
