package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Issue 12 case 2 on a real worker: a split table whose connector gets a new instance before the
 * first offset flush (offset.flush.interval.ms=60000): tasks.max changed, or the connector
 * restarted, a few seconds into the snapshot. The new instance finds no committed range offset;
 * every key of the table must still arrive (checked against PostgreSQL's own list of keys).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SplitBeforeFirstFlushIT {

    private static final int ROWS = 300_000;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private Set<Long> keys;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("split_first_flush");
        db.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL)",
                "INSERT INTO big SELECT g, repeat('x', 60) FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE big");
        keys = new HashSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM big ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        connect = ConnectFixture.start("split-first-flush", Map.of("offset.flush.interval.ms", "60000"));
    }

    @AfterAll
    void tearDown() throws Exception {
        try {
            if (connect != null) {
                ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
            }
        } finally {
            ConnectFixture.stopAll(connect, db);
        }
    }

    private Map<String, String> config(String name, int tasks) {
        Map<String, String> config = db.connectorConfig(name, "public\\.big");
        config.put("tasks.max", Integer.toString(tasks));
        config.put("poll.interval.ms", "200");
        return config;
    }

    @Test
    void tasksMaxRaisedBeforeTheFirstFlush() throws Exception {
        run("raised", () -> connect.configureConnector("raised", config("raised", 4)));
    }

    @Test
    void connectorRestartedBeforeTheFirstFlush() throws Exception {
        run("restarted", () -> connect.restartConnector("restarted"));
    }

    private void run(String name, Runnable disturbance) throws Exception {
        // A byte quota slows the snapshot down so that the disturbance comes in its middle.
        ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), 2_000_000.0);
        connect.configureConnector(name, config(name, 3));
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(name, 3, "three tasks for one table");
        Set<Long> seen = new HashSet<>();
        long records = 0;
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                List.of(name + ".public.big"))) {
            long[] count = {0};
            reader.readFor(Duration.ofSeconds(3), row -> {
                seen.add(row.key().get("id").asLong());
                count[0]++;
            });
            int beforeDisturbance = seen.size();
            disturbance.run();
            ConnectFixture.throttleProducers(connect.kafka().bootstrapServers(), null);
            // Until every key arrived, or nothing new came for 30 s (the tasks are done), or 4 minutes.
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            long lastNew = System.nanoTime();
            while (seen.size() < ROWS && System.nanoTime() < deadline
                    && System.nanoTime() - lastNew < Duration.ofSeconds(30).toNanos()) {
                int sizeBefore = seen.size();
                reader.readFor(Duration.ofSeconds(1), row -> {
                    seen.add(row.key().get("id").asLong());
                    count[0]++;
                });
                if (seen.size() > sizeBefore) {
                    lastNew = System.nanoTime();
                }
            }
            records = count[0];
            System.out.printf("%s: %d keys had arrived when disturbed; then %d of %d keys arrived (%d records)%n",
                    name, beforeDisturbance, seen.size(), ROWS, records);
            assertTrue(beforeDisturbance < ROWS, "disturbed during the snapshot");
        }
        TreeSet<Long> missing = new TreeSet<>(keys);
        missing.removeAll(seen);
        System.out.printf("%s: %d keys never arrived%s%n", name, missing.size(),
                missing.isEmpty() ? "" : " (" + missing.first() + ".." + missing.last() + ")");
        assertEquals(0, missing.size(), "keys of PostgreSQL that never arrived");
        assertTrue(keys.containsAll(seen), "only keys of the table");
        connect.deleteConnector(name);
    }
}
