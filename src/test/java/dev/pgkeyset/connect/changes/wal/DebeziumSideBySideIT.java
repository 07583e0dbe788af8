package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

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
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Debezium 3.7's own PostgreSQL connector and ours (capture.mode=wal, record.format=envelope)
 * capture the same table in one embedded worker, each with its own slot and publication: for an
 * insert, an update and a delete (REPLICA IDENTITY FULL) the envelopes agree field by field on
 * {@code op}, {@code source.table}, {@code before} and {@code after} (and for an insert of
 * PostgreSQL's infinities), over int, bigint, numeric,
 * text, boolean, date, timestamp, timestamptz, time, timetz, uuid and jsonb columns. Differences
 * by design are listed in {@link #BY_DESIGN} and in the README; everything else must be equal.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebeziumSideBySideIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    /** Fields whose values differ by design: none so far. */
    private static final Set<String> BY_DESIGN = Set.of();

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String ourSlot = WalFixture.uniqueName("sbs_ours");
    private final String debeziumSlot = WalFixture.uniqueName("sbs_dbz");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("side_by_side");
        db.execute("CREATE TABLE sbs (id int PRIMARY KEY, i int, b bigint, n numeric(12,3), t text, flag boolean,"
                        + " d date, ts timestamp, ts3 timestamp(3), tz timestamptz, tz0 timestamptz(0), tz3 timestamptz(3), tm time, ttz timetz, u uuid, j jsonb)",
                "ALTER TABLE sbs REPLICA IDENTITY FULL");
        connect = ConnectFixture.start("side-by-side");
    }

    @AfterAll
    void tearDown() {
        try {
            quietly(() -> connect.deleteConnector("ours"));
            quietly(() -> connect.deleteConnector("dbz"));
            WalFixture.dropSlotAndPublication(db, ourSlot);
            WalFixture.dropSlotAndPublication(db, debeziumSlot);
        } finally {
            ConnectFixture.stopAll(connect, db);
        }
    }

    @Test
    void envelopesAgreeFieldByField() throws Exception {
        Map<String, String> ours = WalFixture.walConfig(db, "ours", "public\\.sbs", ourSlot, "never");
        ours.put("record.format", "envelope");
        connect.configureConnector("ours", ours);
        connect.configureConnector("dbz", debeziumConfig());
        WalFixture.awaitStreaming(db, ourSlot, TIMEOUT);
        WalFixture.awaitStreaming(db, debeziumSlot, TIMEOUT);

        // PostgreSQL's infinities first, in a row of their own.
        db.execute("INSERT INTO sbs (id, d, ts, ts3, tz, tz0) VALUES (2, 'infinity', '-infinity', 'infinity',"
                + " 'infinity', '-infinity'), (3, '-infinity', 'infinity', '-infinity', '-infinity', 'infinity')");
        db.execute("INSERT INTO sbs VALUES (1, -2147483648, 9223372036854775807, -123456789.125, 'Grüße, \"q\"', true,"
                + " '1969-12-31', '1969-12-31 23:59:59.999999', '2024-02-29 12:34:56.789', '2024-05-01 10:00:00.000001+02',"
                + " '2024-05-01 10:00:00+02', '1969-12-31 23:59:59.5-01', '23:59:59.999999', '13:14:15.5+05:30', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": [1, 2.50], \"a\": null}')");
        db.execute("UPDATE sbs SET i = 7, t = NULL, n = 0.001, ts = '2000-01-01 00:00:00', tz = '1900-01-01 00:00:00+00', tz3 = '2000-01-01 00:00:00+00',"
                + " j = '[]' WHERE id = 1");
        db.execute("DELETE FROM sbs WHERE id = 1");

        List<JsonNode> mine = read("ours.public.sbs");
        List<JsonNode> theirs = read("dbz.public.sbs");
        assertEquals(List.of("c", "c", "c", "u", "d"), mine.stream().map(v -> v.get("op").asText()).toList());
        assertEquals(List.of("c", "c", "c", "u", "d"), theirs.stream().map(v -> v.get("op").asText()).toList());
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < mine.size(); i++) {
            JsonNode a = mine.get(i), b = theirs.get(i);
            String op = a.get("op").asText();
            assertEquals(b.get("source").get("table").asText(), a.get("source").get("table").asText());
            for (String side : List.of("before", "after")) {
                compare(op + "." + side, a.get(side), b.get(side), differences);
            }
        }
        System.out.println("DebeziumSideBySideIT ours: " + mine);
        System.out.println("DebeziumSideBySideIT Debezium's: " + theirs);
        assertTrue(differences.isEmpty(), "fields that differ from Debezium's: " + differences);
    }

    private static void compare(String where, JsonNode ours, JsonNode theirs, List<String> differences) {
        if (ours == null || ours.isNull() || theirs == null || theirs.isNull()) {
            if ((ours == null || ours.isNull()) != (theirs == null || theirs.isNull())) {
                differences.add(where + ": ours " + ours + ", Debezium's " + theirs);
            }
            return;
        }
        Map<String, JsonNode> mine = fields(ours), others = fields(theirs);
        assertEquals(others.keySet(), mine.keySet(), where + ": the same columns");
        for (String column : mine.keySet()) {
            if (!mine.get(column).equals(others.get(column)) && !BY_DESIGN.contains(column)) {
                differences.add(where + "." + column + ": ours " + mine.get(column) + ", Debezium's " + others.get(column));
            }
        }
    }

    private static Map<String, JsonNode> fields(JsonNode node) {
        Map<String, JsonNode> fields = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            fields.put(field.getKey(), field.getValue());
        }
        return fields;
    }

    /** The envelopes of a topic (tombstones left out) once the delete's has come. */
    private List<JsonNode> read(String topic) {
        List<JsonNode> values = new ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            reader.readUntil(() -> values.stream().anyMatch(v -> v.get("op").asText().equals("d")), TIMEOUT, row -> {
                if (row.value() != null) {
                    values.add(row.value());
                }
            });
        }
        return values;
    }

    private Map<String, String> debeziumConfig() {
        Map<String, String> config = new java.util.HashMap<>();
        config.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        java.net.URI url = java.net.URI.create(db.jdbcUrl().substring("jdbc:".length()));
        config.put("database.hostname", url.getHost());
        config.put("database.port", Integer.toString(url.getPort() < 0 ? 5432 : url.getPort()));
        config.put("database.user", db.user());
        if (db.password() != null) {
            config.put("database.password", db.password());
        }
        config.put("database.dbname", db.name());
        config.put("topic.prefix", "dbz");
        config.put("table.include.list", "public.sbs");
        config.put("plugin.name", "pgoutput");
        config.put("slot.name", debeziumSlot);
        config.put("publication.name", debeziumSlot);
        config.put("publication.autocreate.mode", "filtered");
        config.put("snapshot.mode", "no_data");
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        return config;
    }

    private static void quietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            System.out.println("DebeziumSideBySideIT: " + e);
        }
    }
}
