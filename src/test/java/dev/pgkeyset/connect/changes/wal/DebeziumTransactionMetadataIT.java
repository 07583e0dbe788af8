package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.time.Duration;
import java.util.ArrayList;
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
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Transaction metadata ({@code provide.transaction.metadata=true}) beside Debezium 3.7's own: both
 * connectors capture the same two tables in one worker, and for the same PostgreSQL transactions
 * (several tables in one, a delete, a key change, a single-statement one, and one that touches
 * only a table neither captures) the transaction topics hold the same BEGIN and END events (keys,
 * statuses, ids, counts per table, times, and the schemas of key and value), and every change
 * event carries the same {@code transaction} block. The expectation is Debezium's output, not
 * this connector's code.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebeziumTransactionMetadataIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    /** BEGIN and END of each transaction with a captured change: 3 transactions. */
    private static final int TRANSACTION_EVENTS = 6;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final String ourSlot = WalFixture.uniqueName("txm_ours");
    private final String debeziumSlot = WalFixture.uniqueName("txm_dbz");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("tx_metadata");
        db.execute("CREATE TABLE a (id int PRIMARY KEY, v text)", "ALTER TABLE a REPLICA IDENTITY FULL",
                "CREATE TABLE b (id int PRIMARY KEY, v text)",
                "CREATE TABLE uncaptured (id int PRIMARY KEY)");
        connect = ConnectFixture.start("tx-metadata");
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
    void transactionTopicsAndBlocksAgreeWithDebeziums() throws Exception {
        Map<String, String> ours = WalFixture.walConfig(db, "ours", "public\\.(a|b)", ourSlot, "never");
        ours.put("record.format", "envelope");
        ours.put("provide.transaction.metadata", "true");
        connect.configureConnector("ours", ours);
        connect.configureConnector("dbz", debeziumConfig());
        WalFixture.awaitStreaming(db, ourSlot, TIMEOUT);
        WalFixture.awaitStreaming(db, debeziumSlot, TIMEOUT);

        db.execute("BEGIN; INSERT INTO a VALUES (1, 'one'); INSERT INTO b VALUES (1, 'uno');"
                + " INSERT INTO a VALUES (2, 'two'); UPDATE a SET v = 'ONE' WHERE id = 1; COMMIT");
        db.execute("INSERT INTO uncaptured VALUES (1)");
        // b first: this END lists b first, as the transaction touched it first.
        db.execute("BEGIN; UPDATE b SET id = 2 WHERE id = 1; DELETE FROM a WHERE id = 2; COMMIT");
        db.execute("INSERT INTO a VALUES (3, 'three')");

        List<TopicReader.Row> theirs = read(List.of("dbz.transaction"), TRANSACTION_EVENTS);
        System.out.println("DebeziumTransactionMetadataIT Debezium's transaction events: "
                + theirs.stream().map(r -> r.key() + " " + r.value()).toList());
        List<TopicReader.Row> mine = read(List.of("ours.transaction"), TRANSACTION_EVENTS);
        System.out.println("DebeziumTransactionMetadataIT ours: "
                + mine.stream().map(r -> r.key() + " " + r.value()).toList());
        assertEquals(TRANSACTION_EVENTS, theirs.size(), "Debezium's own count (the test's premise)");
        assertEquals(List.of("BEGIN", "END", "BEGIN", "END", "BEGIN", "END"),
                theirs.stream().map(r -> r.value().get("status").asText()).toList(), "the test's premise");
        assertEquals(theirs.size(), mine.size());
        assertEquals(List.of("public.b", "public.a"), mine.get(3).value().findValuesAsText("data_collection"),
                "END's tables in the order the transaction first touched them");
        for (int i = 0; i < theirs.size(); i++) {
            TopicReader.Row a = mine.get(i), b = theirs.get(i);
            assertEquals(b.key(), a.key(), "key of transaction event " + i);
            // By design: data_collections in the order the transaction first touched each table
            // (Debezium's is a HashMap's); the same tables and counts.
            assertEquals(collections(b.value()), collections(a.value()), "tables of transaction event " + i);
            assertEquals(withoutCollections(b.value()), withoutCollections(a.value()), "value of transaction event " + i);
            assertEquals(b.keySchema(), a.keySchema(), "key schema of transaction event " + i);
            assertEquals(b.valueSchema(), a.valueSchema(), "value schema of transaction event " + i);
        }

        // Change events: 4 + 1 + 1 on a (the delete's tombstone aside), 1 + 2 (the key change's delete and create) on b.
        for (String table : List.of("a", "b")) {
            List<TopicReader.Row> myEvents = changeEvents("ours.public." + table, table.equals("a") ? 4 : 3);
            List<TopicReader.Row> theirEvents = changeEvents("dbz.public." + table, table.equals("a") ? 4 : 3);
            assertEquals(theirEvents.stream().map(r -> r.value().get("op").asText()).toList(),
                    myEvents.stream().map(r -> r.value().get("op").asText()).toList(), table + ": the same events");
            for (int i = 0; i < theirEvents.size(); i++) {
                JsonNode block = theirEvents.get(i).value().get("transaction");
                assertNotNull(block, "Debezium's event carries a transaction block (the test's premise)");
                assertFalse(block.isNull(), "Debezium's event carries a transaction block (the test's premise)");
                assertEquals(block, myEvents.get(i).value().get("transaction"), table + " event " + i);
            }
            assertEquals(fieldNames(theirEvents.get(0).valueSchema()), fieldNames(myEvents.get(0).valueSchema()),
                    table + ": the envelope's fields, in Debezium's order");
            assertEquals(fieldNames(field(theirEvents.get(0).valueSchema(), "source")),
                    fieldNames(field(myEvents.get(0).valueSchema(), "source")), table + ": the source block's fields");
            assertEquals(field(theirEvents.get(0).valueSchema(), "transaction"),
                    field(myEvents.get(0).valueSchema(), "transaction"), table + ": the transaction block's schema");
        }
    }

    private static java.util.Set<JsonNode> collections(JsonNode transactionEvent) {
        java.util.Set<JsonNode> tables = new java.util.HashSet<>();
        transactionEvent.get("data_collections").forEach(tables::add);
        return tables;
    }

    private static JsonNode withoutCollections(JsonNode transactionEvent) {
        return ((com.fasterxml.jackson.databind.node.ObjectNode) transactionEvent.deepCopy()).without("data_collections");
    }

    private static List<String> fieldNames(JsonNode structSchema) {
        List<String> names = new ArrayList<>();
        structSchema.get("fields").forEach(f -> names.add(f.get("field").asText()));
        return names;
    }

    private static JsonNode field(JsonNode structSchema, String name) {
        for (JsonNode f : structSchema.get("fields")) {
            if (f.get("field").asText().equals(name)) {
                return f;
            }
        }
        throw new AssertionError("no field " + name + " in " + structSchema);
    }

    private List<TopicReader.Row> changeEvents(String topic, int count) {
        List<TopicReader.Row> events = new ArrayList<>();
        for (TopicReader.Row row : read(List.of(topic), count)) {
            events.add(row);
        }
        return events;
    }

    /** The first {@code count} records with a value (tombstones left out) of the topics. */
    private List<TopicReader.Row> read(List<String> topics, int count) {
        List<TopicReader.Row> rows = new ArrayList<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), topics)) {
            reader.readUntil(() -> rows.size() >= count, TIMEOUT, row -> {
                if (row.value() != null) {
                    rows.add(row);
                }
            });
            // Nothing more may follow (an extra BEGIN or END, an event counted twice).
            reader.readFor(Duration.ofSeconds(2), row -> {
                if (row.value() != null) {
                    rows.add(row);
                }
            });
        }
        return rows;
    }

    private Map<String, String> debeziumConfig() {
        Map<String, String> config = DebeziumConnector.config(db, debeziumSlot, "public.a,public.b", "no_data");
        config.put("provide.transaction.metadata", "true");
        return config;
    }

    private static void quietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            System.out.println("DebeziumTransactionMetadataIT: " + e);
        }
    }
}
