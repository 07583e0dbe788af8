package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
 * Snapshot, then changes, through a real worker: a row committed late by a 10-second transaction
 * while 200 others commit arrives; a table created while running is captured; after a stop and a
 * resume only what is new is read.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChangeCaptureIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("change_capture");
        db.execute("CREATE TABLE events (id bigint PRIMARY KEY, note text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON events (updated_at, id)",
                "INSERT INTO events SELECT g, 'old', now() - interval '1 hour' FROM generate_series(1, 1000) g");
        connect = ConnectFixture.start("change-capture");
    }

    @AfterAll
    void tearDown() {
        if (connect != null) {
            connect.stop();
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    void followsChangesWithoutLosingLateCommitsOrNewTables() throws Exception {
        Map<String, String> config = db.connectorConfig("cdc", "public\\..*");
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("poll.interval.ms", "200");
        config.put("table.discovery.interval.ms", "1000");
        config.put("tasks.max", "2");
        connect.configureConnector("cdc", config);
        connect.assertions().assertConnectorAndAtLeastNumTasksAreRunning("cdc", 1, "connector did not start");

        Map<Long, Integer> seen = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("cdc.public.events"))) {
            reader.readUntil(() -> seen.size() == 1000, TIMEOUT, row -> seen.merge(row.key().get("id").asLong(), 1,
                    Integer::sum));

            // A transaction takes its tracking value (now()) first and commits 10 s later, while
            // 200 short ones commit newer values.
            try (Connection longTx = db.connect()) {
                longTx.setAutoCommit(false);
                try (Statement st = longTx.createStatement()) {
                    st.execute("INSERT INTO events (id, note) VALUES (0, 'late')");
                }
                long began = System.nanoTime();
                for (int i = 1001; i <= 1200; i++) {
                    db.execute("INSERT INTO events (id, note) VALUES (" + i + ", 'quick')");
                }
                Thread.sleep(Math.max(0, 10_000 - (System.nanoTime() - began) / 1_000_000));
                longTx.commit();
            }
            reader.readUntil(() -> seen.size() == 1201, TIMEOUT, row -> seen.merge(row.key().get("id").asLong(), 1,
                    Integer::sum));
            assertTrue(seen.containsKey(0L), "the late commit arrived");

            // A table created while the connector runs is picked up by discovery.
            db.execute("CREATE TABLE fresh (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                    "INSERT INTO fresh (id) SELECT g FROM generate_series(1, 5) g");
            try (TopicReader fresh = new TopicReader(connect.kafka().bootstrapServers(), List.of("cdc.public.fresh"))) {
                Map<Long, Integer> freshIds = new HashMap<>();
                fresh.readUntil(() -> freshIds.size() == 5, TIMEOUT,
                        row -> freshIds.merge(row.key().get("id").asLong(), 1, Integer::sum));
            }

            // Stopped and resumed: only the rows written meanwhile are read.
            connect.stopConnector("cdc");
            connect.assertions().assertConnectorIsStopped("cdc", "connector did not stop");
            db.execute("INSERT INTO events (id, note) SELECT g, 'while stopped' FROM generate_series(2001, 2050) g");
            connect.resumeConnector("cdc");
            reader.readUntil(() -> seen.size() == 1251, TIMEOUT, row -> seen.merge(row.key().get("id").asLong(), 1,
                    Integer::sum));
            reader.readFor(Duration.ofSeconds(2), row -> seen.merge(row.key().get("id").asLong(), 1, Integer::sum));
        }
        for (long id = 1; id <= 1000; id++) {
            assertEquals(1, seen.get(id), "snapshot row " + id + " delivered once, never re-read");
        }
        long duplicates = seen.values().stream().filter(n -> n > 1).count();
        System.out.printf("change capture: %d distinct rows, %d delivered more than once%n", seen.size(), duplicates);
        assertEquals(0, duplicates, "clean stop and resume: nothing read twice");
    }
}
