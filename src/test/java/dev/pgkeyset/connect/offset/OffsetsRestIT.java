package dev.pgkeyset.connect.offset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.runtime.rest.errors.ConnectRestException;
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
 * Offsets over the worker's REST API (KIP-875): deleting a table's offset copies it again;
 * setting it to a key resumes after that key; a malformed offset is refused with the reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OffsetsRestIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("offsets_rest");
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g");
        connect = ConnectFixture.start("offsets-rest");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    @Test
    void offsetsCanBeResetSetAndAreValidated() throws Exception {
        connect.configureConnector("o", db.connectorConfig("o", "public\\.t"));
        List<Integer> ids = new ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("o.public.t"))) {
            reader.readUntil(() -> ids.size() == 1000, TIMEOUT, row -> ids.add(row.key().get("id").asInt()));
            ConnectFixture.waitFor("the snapshot committed as complete", TIMEOUT, () -> "snapshot_complete".equals(
                    connect.connectorOffsets("o").offsets().stream().findFirst()
                            .map(o -> o.offset().get("phase")).orElse(null)));

            // DELETE /connectors/o/offsets, then resume: the table is copied again.
            connect.stopConnector("o");
            connect.assertions().assertConnectorIsStopped("o", "not stopped");
            connect.resetConnectorOffsets("o");
            connect.resumeConnector("o");
            reader.readUntil(() -> ids.size() == 2000, TIMEOUT, row -> ids.add(row.key().get("id").asInt()));
            ConnectFixture.waitFor("the second copy committed as complete", TIMEOUT, () -> "snapshot_complete".equals(
                    connect.connectorOffsets("o").offsets().stream().findFirst()
                            .map(o -> o.offset().get("phase")).orElse(null)));

            // PATCH /connectors/o/offsets to key 900: only the rows after it are read.
            connect.stopConnector("o");
            connect.assertions().assertConnectorIsStopped("o", "not stopped");
            connect.alterSourceConnectorOffset("o", Map.of("table", "public.t"),
                    Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[900]"));
            connect.resumeConnector("o");
            reader.readUntil(() -> ids.size() == 2100, TIMEOUT, row -> ids.add(row.key().get("id").asInt()));
            reader.readFor(Duration.ofSeconds(2), row -> ids.add(row.key().get("id").asInt()));
        }
        List<Integer> expected = new ArrayList<>();
        for (int copy = 0; copy < 2; copy++) {
            for (int id = 1; id <= 1000; id++) {
                expected.add(id);
            }
        }
        for (int id = 901; id <= 1000; id++) {
            expected.add(id);
        }
        assertEquals(expected, ids, "a full copy, a full copy after the reset, then the rows after key 900");

        connect.stopConnector("o");
        connect.assertions().assertConnectorIsStopped("o", "not stopped");
        ConnectRestException badPhase = assertThrows(ConnectRestException.class, () -> connect.alterSourceConnectorOffset(
                "o", Map.of("table", "public.t"), Map.of("phase", "later", "key_columns", "[\"id\"]", "key", "[1]")));
        assertTrue(badPhase.getMessage().contains("unknown phase"), badPhase.getMessage());
        ConnectRestException badKey = assertThrows(ConnectRestException.class, () -> connect.alterSourceConnectorOffset(
                "o", Map.of("table", "public.t"), Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1,")));
        assertTrue(badKey.getMessage().contains("not valid JSON"), badKey.getMessage());
        ConnectRestException badPartition = assertThrows(ConnectRestException.class,
                () -> connect.alterSourceConnectorOffset("o", Map.of("schema", "public"),
                        Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1]")));
        assertTrue(badPartition.getMessage().contains("source partition"), badPartition.getMessage());
        // Key ranges of split tables: the range must be an index, and its offset must keep the split.
        ConnectRestException badRange = assertThrows(ConnectRestException.class,
                () -> connect.alterSourceConnectorOffset("o", Map.of("table", "public.t", "range", "first"),
                        Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[1]", "split", "[[500]]")));
        assertTrue(badRange.getMessage().contains("key range of a split table"), badRange.getMessage());
        ConnectRestException noSplit = assertThrows(ConnectRestException.class,
                () -> connect.alterSourceConnectorOffset("o", Map.of("table", "public.t", "range", "1"),
                        Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[600]")));
        assertTrue(noSplit.getMessage().contains("split"), noSplit.getMessage());
        ConnectRestException outside = assertThrows(ConnectRestException.class,
                () -> connect.alterSourceConnectorOffset("o", Map.of("table", "public.t", "range", "2"),
                        Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[600]", "split", "[[500]]")));
        assertTrue(outside.getMessage().contains("does not exist"), outside.getMessage());
        connect.alterSourceConnectorOffset("o", Map.of("table", "public.t", "range", "1"),
                Map.of("phase", "snapshot", "key_columns", "[\"id\"]", "key", "[600]", "split", "[[500]]"));
        connect.deleteConnector("o");
    }
}
