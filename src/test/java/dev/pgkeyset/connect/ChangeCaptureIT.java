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
                "INSERT INTO events SELECT g, 'old', now() - interval '1 hour' FROM generate_series(1, 1000) g",
                "CREATE SCHEMA other",
                "CREATE TABLE other.items (id bigint PRIMARY KEY, note text, deleted boolean NOT NULL DEFAULT false,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON other.items (updated_at, id)",
                "INSERT INTO other.items (id, note, updated_at) SELECT g, 'old', now() - interval '1 hour'"
                        + " FROM generate_series(1, 100000) g");
        connect = ConnectFixture.start("change-capture");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
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
            javax.management.MBeanServer jmx = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            javax.management.ObjectName events = jmx.queryNames(
                    new javax.management.ObjectName("kafka.connect:type=plugins,connector=cdc,*"), null).stream()
                    .filter(n -> "public.events".equals(n.getKeyProperty("table"))).findFirst().orElseThrow();
            long lag = (Long) jmx.getAttribute(events, "change-lag-ms");
            assertTrue(lag >= 0 && lag < 120_000, "change lag over JMX once changes flow: " + lag);
            assertEquals(100.0, (Double) jmx.getAttribute(events, "snapshot-progress-percent"));

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

    @Test
    void tiesAcrossTinyBatchesWritesDuringTheSnapshotAndSoftDeletes() throws Exception {
        String bootstrap = connect.kafka().bootstrapServers();
        Map<String, String> config = db.connectorConfig("more", "other\\.items");
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("soft.delete.column", "deleted");
        config.put("poll.interval.ms", "200");
        config.put("batch.max.rows", "7");
        Map<Long, Integer> seen = new HashMap<>();
        Map<Long, String> lastNote = new HashMap<>();
        List<Long> tombstones = new java.util.ArrayList<>();
        java.util.function.Consumer<TopicReader.Row> record = row -> {
            long id = row.key().get("id").asLong();
            seen.merge(id, 1, Integer::sum);
            if (row.value() == null) {
                assertEquals("d", row.op(), "a tombstone carries op d");
                tombstones.add(id);
            } else {
                lastNote.put(id, row.value().get("note").asText());
            }
        };
        // Throttled, so the writes below land while the snapshot of 100,000 rows is running.
        ConnectFixture.throttleProducers(bootstrap, 3_000_000.0);
        connect.configureConnector("more", config);
        try (TopicReader reader = new TopicReader(bootstrap, List.of("more.other.items"))) {
            reader.readUntil(() -> seen.size() >= 5_000, TIMEOUT, record);
            // During the snapshot: change rows already copied and rows not yet copied, and
            // insert 1,000 rows sharing one tracking value (one transaction: one now()).
            db.execute("UPDATE other.items SET note = 'changed', updated_at = now() WHERE id IN (1, 2, 99000)",
                    "INSERT INTO other.items (id, note) SELECT g, 'tie' FROM generate_series(200001, 201000) g");
            ConnectFixture.throttleProducers(bootstrap, null);
            reader.readUntil(() -> seen.size() == 101_000 && "changed".equals(lastNote.get(1L))
                    && "changed".equals(lastNote.get(2L)), TIMEOUT, record);
            db.execute("UPDATE other.items SET deleted = true, updated_at = now() WHERE id = 3");
            reader.readUntil(() -> tombstones.contains(3L), TIMEOUT, record);
            reader.readFor(Duration.ofSeconds(2), record);
        } finally {
            ConnectFixture.throttleProducers(bootstrap, null);
        }
        assertEquals("changed", lastNote.get(99000L));
        for (long id = 200001; id <= 201000; id++) {
            assertEquals(1, seen.get(id), "tied row " + id + " arrives once, in batches of 7");
        }
        assertEquals(1, db.queryLong("SELECT count(DISTINCT updated_at) FROM other.items WHERE id > 200000"));
        connect.deleteConnector("more");
    }
}
