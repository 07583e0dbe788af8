package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
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
 * record.format=envelope in capture.mode=query through a real worker: snapshot rows are reads
 * (the table's last one marked last_in_data_collection), an insert and an update are both op u
 * with no before (a query cannot tell them apart), a soft delete is an op d event with the row as
 * before, followed by its tombstone. Rows and their order come from PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueryEnvelopeIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("query_envelope");
        db.execute("CREATE TABLE qenv (id int PRIMARY KEY, note text NOT NULL, deleted boolean NOT NULL DEFAULT false,"
                        + " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())",
                "CREATE INDEX ON qenv (updated_at, id)",
                "INSERT INTO qenv (id, note) SELECT g, 'n' || g FROM generate_series(1, 3) g");
        connect = ConnectFixture.start("query-envelope");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    @Test
    void readsThenChangesAsUpdatesThenASoftDeleteAndItsTombstone() throws Exception {
        Map<String, String> config = db.connectorConfig("qenv", "public\\.qenv");
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("soft.delete.column", "deleted");
        config.put("poll.interval.ms", "200");
        config.put("record.format", "envelope");
        connect.configureConnector("qenv", config);

        String topic = "qenv.public.qenv";
        List<TopicReader.Row> rows = new ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            reader.readUntil(() -> rows.size() >= 3, TIMEOUT, rows::add);
            Map<Integer, Map<String, String>> snapshot = table();
            assertEquals(List.of(1, 2, 3), rows.stream().map(r -> r.key().get("id").asInt()).toList());
            for (int i = 0; i < 3; i++) {
                JsonNode value = rows.get(i).value();
                assertEquals("r", value.get("op").asText());
                assertTrue(value.get("before").isNull());
                assertEquals(snapshot.get(i + 1), row(value.get("after")));
                assertEquals(i < 2 ? "true" : "last_in_data_collection", value.get("source").get("snapshot").asText());
            }

            // Each its own transaction, in this order of the tracking column.
            db.execute("INSERT INTO qenv (id, note) VALUES (4, 'new')");
            db.execute("UPDATE qenv SET note = 'changed', updated_at = clock_timestamp() WHERE id = 2");
            db.execute("UPDATE qenv SET deleted = true, updated_at = clock_timestamp() WHERE id = 3");
            db.execute("INSERT INTO qenv (id, note) VALUES (99, 'sentinel')");
            reader.readUntil(() -> rows.stream().anyMatch(r -> r.key().get("id").asInt() == 99), TIMEOUT, rows::add);
        }
        Map<Integer, Map<String, String>> now = table();
        List<TopicReader.Row> changes = rows.subList(3, rows.size());
        assertEquals(List.of("4 u", "2 u", "3 d", "3 tombstone", "99 u"), changes.stream()
                .map(r -> r.key().get("id").asInt() + " " + (r.value() == null ? "tombstone" : r.value().get("op").asText()))
                .toList(), changes.toString());
        for (TopicReader.Row change : changes) {
            int id = change.key().get("id").asInt();
            JsonNode value = change.value();
            if (value == null) {
                assertEquals("d", change.op(), "the tombstone keeps the pgkeyset.op header");
                continue;
            }
            JsonNode source = value.get("source");
            assertEquals("false", source.get("snapshot").asText());
            assertEquals("qenv", source.get("table").asText());
            assertTrue(source.get("txId").isNull() && source.get("lsn").isNull(), "a query knows no transaction");
            if (id == 3) {
                // The row as the query read it, deleted flag set: what PostgreSQL holds now.
                assertEquals(now.get(3), row(value.get("before")));
                assertTrue(value.get("after").isNull());
            } else {
                assertTrue(value.get("before").isNull());
                assertEquals(now.get(id), row(value.get("after")));
            }
        }
    }

    /** The table as PostgreSQL prints it: id, note and deleted of each row. */
    private Map<Integer, Map<String, String>> table() throws Exception {
        Map<Integer, Map<String, String>> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, note, deleted::text FROM qenv")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), Map.of("id", String.valueOf(rs.getInt(1)), "note", rs.getString(2),
                        "deleted", rs.getString(3)));
            }
        }
        return rows;
    }

    private static Map<String, String> row(JsonNode node) {
        return Map.of("id", node.get("id").asText(), "note", node.get("note").asText(), "deleted",
                node.get("deleted").asText());
    }
}
