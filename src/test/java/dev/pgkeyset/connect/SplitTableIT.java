package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * One large table over several tasks: with tasks.max above the number of tables, the table is cut
 * into key ranges from a sample, each range its own source partition with its own offsets, copied
 * and then followed by its own task; a reconfiguration to fewer tasks keeps the same ranges, so a
 * finished range is never read again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SplitTableIT {

    private static final int ROWS = 300_000;
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("split_table");
        db.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON big (updated_at, id)",
                // Rows of the top third are large: under a byte quota, that range is the slow one.
                // 1,000 bytes: with JsonConverter's schema in every record, 400-byte rows made records
                // only ~2x the small ones', and the ranges finished within a second of each other.
                "INSERT INTO big SELECT g, CASE WHEN g > 200000 THEN repeat('x', 1000) ELSE 'p' || g END,"
                        + " now() - interval '1 hour' FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE big",
                "CREATE TABLE small (id int PRIMARY KEY)", "INSERT INTO small SELECT generate_series(1, 10)",
                "ANALYZE small");
        connect = ConnectFixture.start("split-table");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    private Map<String, String> config(String prefix, int tasks, String mode) {
        Map<String, String> config = db.connectorConfig(prefix, "public\\.big");
        config.put("tasks.max", Integer.toString(tasks));
        config.put("snapshot.mode", mode);
        config.put("incremental.column", "updated_at");
        config.put("poll.interval.ms", "200");
        return config;
    }

    /** Range partition index → committed offset. */
    private Map<String, Map<String, ?>> rangeOffsets(String connector) {
        Map<String, Map<String, ?>> ranges = new TreeMap<>();
        for (ConnectorOffset offset : connect.connectorOffsets(connector).offsets()) {
            Object range = offset.partition().get("range");
            assertTrue(range != null, "only range partitions for a split table: " + offset.partition());
            assertTrue(offset.offset() != null, "an offset for every range: " + offset.partition() + " in "
                    + connect.connectorOffsets(connector).offsets().stream().map(o -> o.partition() + "=" + o.offset())
                    .toList());
            ranges.put((String) range, offset.offset());
        }
        return ranges;
    }

    @Test
    void threeTasksCopyAndFollowThreeKeyRanges() throws Exception {
        connect.configureConnector("split", config("split", 3, "initial"));
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("split", 3, "three tasks for one table");
        Map<Long, Integer> seen = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("split.public.big"))) {
            reader.readUntil(() -> seen.size() == ROWS, TIMEOUT,
                    row -> seen.merge(row.key().get("id").asLong(), 1, Integer::sum));
            ConnectFixture.waitFor("three range offsets", Duration.ofSeconds(30),
                    () -> rangeOffsets("split").size() == 3);
            Map<String, Map<String, ?>> ranges = rangeOffsets("split");
            assertEquals(Set.of("0", "1", "2"), ranges.keySet());
            Set<Object> splits = new java.util.HashSet<>();
            ranges.values().forEach(o -> splits.add(o.get("split")));
            assertEquals(1, splits.size(), "every range carries the same split: " + splits);
            System.out.println("split of public.big: " + splits);

            // Changes all over the key space: each range follows its own keys.
            db.execute("UPDATE big SET payload = 'changed', updated_at = now() WHERE id % 30000 = 0");
            Map<Long, String> changed = new HashMap<>();
            reader.readUntil(() -> changed.size() == 10, TIMEOUT, row -> {
                if ("u".equals(row.op())) {
                    changed.merge(row.key().get("id").asLong(), row.value().get("payload").asText(), (a, b) -> "twice");
                } else {
                    seen.merge(row.key().get("id").asLong(), 1, Integer::sum);
                }
            });
            reader.readFor(Duration.ofSeconds(1), row -> {
                if ("u".equals(row.op())) {
                    changed.merge(row.key().get("id").asLong(), "", (a, b) -> "twice");
                }
            });
            assertEquals(new TreeSet<>(List.of(30000L, 60000L, 90000L, 120000L, 150000L, 180000L, 210000L, 240000L,
                    270000L, 300000L)), new TreeSet<>(changed.keySet()));
            assertTrue(changed.values().stream().allMatch("changed"::equals), "each change once: " + changed);
        }
        assertEquals(ROWS, seen.size());
        assertTrue(seen.values().stream().allMatch(n -> n == 1), "an undisturbed run copies each row once");

        // Stop, delete the offsets of every range, resume: the table is copied again, cut anew.
        connect.stopConnector("split");
        connect.assertions().assertConnectorIsStopped("split", "connector did not stop");
        connect.resetConnectorOffsets("split");
        connect.resumeConnector("split");
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("split", 3, "three tasks again");
        Map<Long, Integer> again = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("split.public.big"))) {
            reader.readUntil(() -> again.values().stream().filter(n -> n >= 2).count() == ROWS, TIMEOUT,
                    row -> again.merge(row.key().get("id").asLong(), 1, Integer::sum));
        }
        ConnectFixture.waitFor("three range offsets after the re-copy", Duration.ofSeconds(30),
                () -> rangeOffsets("split").size() == 3);
        connect.deleteConnector("split");
    }

    @Test
    void fewerTasksLaterKeepTheRangesAndNeverReReadAFinishedOne() throws Exception {
        Map<Long, Integer> seen = new HashMap<>();
        String before;
        List<String> finishedBefore = new ArrayList<>();
        ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), 1_500_000.0);
        connect.configureConnector("rebalance", config("rebalance", 3, "initial_only"));
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("rebalance", 3, "three tasks");
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                List.of("rebalance.public.big"), Map.of())) {
            // Wait until the small-row ranges are done while the large-row one is still copying. The
            // split is drawn from a sample, so the large range may still finish first or together:
            // then every range is finished before the reconfiguration, and none may be read again.
            ConnectFixture.waitFor("two ranges finished", TIMEOUT, () -> {
                reader.readFor(Duration.ofMillis(200), row -> seen.merge(row.key().get("id").asLong(), 1,
                        Integer::sum));
                Map<String, Map<String, ?>> ranges = rangeOffsets("rebalance");
                long done = ranges.values().stream().filter(o -> "snapshot_complete".equals(o.get("phase"))).count();
                return ranges.size() == 3 && done >= 2;
            });
            Map<String, Map<String, ?>> ranges = rangeOffsets("rebalance");
            before = (String) ranges.get("0").get("split");
            ranges.forEach((index, offset) -> {
                if ("snapshot_complete".equals(offset.get("phase"))) {
                    finishedBefore.add(index);
                }
            });
            connect.configureConnector("rebalance", config("rebalance", 2, "initial_only"));
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("rebalance", 2, "two tasks now");
            ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
            reader.readUntil(() -> seen.size() == ROWS, TIMEOUT,
                    row -> seen.merge(row.key().get("id").asLong(), 1, Integer::sum));
            reader.readFor(Duration.ofSeconds(2), row -> seen.merge(row.key().get("id").asLong(), 1, Integer::sum));
        } finally {
            ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
        }
        Map<String, Map<String, ?>> after = rangeOffsets("rebalance");
        assertEquals(3, after.size());
        after.values().forEach(o -> assertEquals(before, o.get("split"), "the same split after the reconfiguration"));
        assertEquals(ROWS, seen.size(), "every row arrived");

        JsonNode boundaries = JSON.readTree(before);
        long duplicatesInFinished = 0;
        for (String index : finishedBefore) {
            int i = Integer.parseInt(index);
            long lower = i == 0 ? Long.MIN_VALUE : boundaries.get(i - 1).get(0).asLong();
            long upper = i == boundaries.size() ? Long.MAX_VALUE : boundaries.get(i).get(0).asLong();
            duplicatesInFinished += seen.entrySet().stream()
                    .filter(e -> e.getKey() >= lower && e.getKey() < upper && e.getValue() > 1).count();
        }
        System.out.printf("rebalance: ranges %s finished before, split %s, %d duplicates in all%n", finishedBefore,
                before, seen.values().stream().filter(n -> n > 1).count());
        assertTrue(finishedBefore.size() >= 2, "ranges finished before: " + finishedBefore);
        assertEquals(0, duplicatesInFinished, "a range finished before the reconfiguration is not read again");
        connect.deleteConnector("rebalance");
    }
}
