package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Schema, table and column names with quotes, semicolons, spaces, mixed case, non-ASCII letters and
 * SQL keywords, snapshot and change phase through a real worker: every row arrives under its
 * column names, the topic name is legal, and the SQL injected in the names never runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileIdentifiersIT {

    private static final String SCHEMA = "My \"Schema\"; DROP TABLE public.victim; --";
    private static final String TABLE = "Ordërs \"quoted\"; DELETE FROM public.victim";
    private static final String KEY = "Id\"; DROP TABLE public.victim; --";
    private static final String TRACKING = "Updated At";
    private static final int ROWS = 3_000;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("hostile_ids");
        String table = quote(SCHEMA) + "." + quote(TABLE);
        db.execute("CREATE TABLE public.victim (x int)", "INSERT INTO public.victim VALUES (1)",
                "CREATE SCHEMA " + quote(SCHEMA),
                "CREATE TABLE " + table + " (" + quote(KEY) + " int PRIMARY KEY, \"select\" text, \"ünï cødé\" text,"
                        + " \"MixedCase\" int, " + quote(TRACKING) + " timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON " + table + " (" + quote(TRACKING) + ", " + quote(KEY) + ")",
                "INSERT INTO " + table + " SELECT g, 'sel ' || g, 'ü' || g, g * 2, now() - interval '1 hour'"
                        + " FROM generate_series(1, " + ROWS + ") g");
        connect = ConnectFixture.start("hostile-ids");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    @Test
    void namesOfEveryShapeAreQuotedAndMappedToALegalTopic() throws Exception {
        // The include list is a regex over schema.table: match the hostile schema by its start.
        Map<String, String> config = db.connectorConfig("hostile", "My .*");
        config.put("snapshot.mode", "initial");
        config.put("incremental.columns", SCHEMA + "." + TABLE + ":" + TRACKING);
        config.put("poll.interval.ms", "200");
        config.put("batch.max.rows", "500");
        connect.configureConnector("hostile", config);
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("hostile", 1, "connector did not start");

        String topic = dev.pgkeyset.connect.config.TopicNames.forTable("hostile",
                new dev.pgkeyset.connect.pg.TableId(SCHEMA, TABLE));
        assertTrue(topic.matches("[A-Za-z0-9._-]{1,249}"), topic);
        Map<Integer, JsonNode> rows = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            reader.readUntil(() -> rows.size() == ROWS, Duration.ofMinutes(2),
                    row -> rows.put(row.key().get(KEY).asInt(), row.value()));
            JsonNode row7 = rows.get(7);
            assertEquals("sel 7", row7.get("select").asText());
            assertEquals("ü7", row7.get("ünï cødé").asText());
            assertEquals(14, row7.get("MixedCase").asInt());

            // The change phase, whose queries name the tracking column too.
            db.execute("UPDATE " + quote(SCHEMA) + "." + quote(TABLE) + " SET \"select\" = 'changed', "
                    + quote(TRACKING) + " = now() WHERE " + quote(KEY) + " <= 5");
            Map<Integer, String> changed = new HashMap<>();
            reader.readUntil(() -> changed.size() == 5, Duration.ofMinutes(1), row -> {
                if ("u".equals(row.op())) {
                    changed.put(row.key().get(KEY).asInt(), row.value().get("select").asText());
                }
            });
            assertTrue(changed.values().stream().allMatch("changed"::equals), changed.toString());
        }
        assertEquals(1, db.queryLong("SELECT count(*) FROM public.victim"), "the names' SQL never ran");
        assertEquals("RUNNING", connect.connectorStatus("hostile").tasks().get(0).state());
    }
}
