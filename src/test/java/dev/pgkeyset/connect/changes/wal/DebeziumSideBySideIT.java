package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * Debezium 3.7's own PostgreSQL connector (its defaults: {@code time.precision.mode=adaptive},
 * {@code decimal.handling.mode=precise}, {@code interval.handling.mode=numeric},
 * {@code binary.handling.mode=bytes}, {@code hstore.handling.mode=json}) and ours
 * (capture.mode=wal, record.format=envelope) capture the same tables in one embedded worker, each
 * with its own slot and publication and snapshot.mode=initial. For a snapshot read, inserts, an
 * update and a delete (REPLICA IDENTITY FULL) the envelopes agree on {@code op} and {@code source.table}, and on {@code before} and
 * {@code after} field by field: each column's value and each column's schema (type, name,
 * version, parameters, element schema of an array) as JsonConverter writes them.
 *
 * <p>{@code sbs} holds the types compared first (int, bigint, numeric(12,3), text, boolean and the
 * date/time types, PostgreSQL's infinities included, uuid, jsonb); {@code sbs_types} the others
 * (numeric without scale and NaN, interval, bit, arrays, BC and year-10000 dates and timestamps,
 * bytea, smallint, real/double with NaN and infinities, money, char/varchar, enum, domain, json,
 * network, point, xml, and hstore/ltree where the server has them). Differences by design are
 * listed in {@link #BY_DESIGN} with their reasons (and in the README); everything else must be equal.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebeziumSideBySideIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    /**
     * Columns whose values or schemas differ by design, and why: {@code table.column} (every event
     * and the schema) or {@code table.op.column} (the values in that operation's events only).
     */
    private static final Map<String, String> BY_DESIGN = Map.of(
            "sbs_types.tsmax", "a timestamp after 294247-01-10 04:00:54.775807 has no INT64 microsecond form:"
                    + " Debezium's value wraps around (a large negative number), ours is Long.MAX_VALUE",
            "sbs_types.r.bcd", "Debezium's snapshot reads date '0044-03-15 BC' as 44 AD (-703383 days); its stream"
                    + " and this connector give PostgreSQL's day, -735160");

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private boolean extensions;
    private final String ourSlot = WalFixture.uniqueName("sbs_ours");
    private final String debeziumSlot = WalFixture.uniqueName("sbs_dbz");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("side_by_side");
        db.execute("CREATE TABLE sbs (id int PRIMARY KEY, i int, b bigint, n numeric(12,3), t text, flag boolean,"
                        + " d date, ts timestamp, ts3 timestamp(3), tz timestamptz, tz0 timestamptz(0), tz3 timestamptz(3), tm time, ttz timetz, u uuid, j jsonb)",
                "ALTER TABLE sbs REPLICA IDENTITY FULL");
        extensions = db.queryLong("SELECT count(*) FROM pg_available_extensions WHERE name IN ('hstore', 'ltree')") == 2;
        if (extensions) {
            db.execute("CREATE EXTENSION hstore", "CREATE EXTENSION ltree");
        }
        System.out.println("DebeziumSideBySideIT: server_version_num "
                + db.queryLong("SELECT current_setting('server_version_num')::int") + "; hstore and ltree "
                + (extensions ? "compared" : "not available"));
        db.execute("CREATE TYPE sbs_mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE DOMAIN sbs_positive AS int CHECK (VALUE > 0)",
                "CREATE TABLE sbs_types (id int PRIMARY KEY, nv numeric, nn numeric(12,3), iv interval,"
                        + " b1 bit(1), b8 bit(8), vb varbit, ia int[], ta text[], bcd date, bcts timestamp,"
                        + " bcts3 timestamp(3), bctz timestamptz, ba bytea, s smallint, r real, dp double precision,"
                        + " m money, c char(5), vc varchar(10), e sbs_mood, dom sbs_positive, js json, ip inet,"
                        + " net cidr, mac macaddr, pt point, x xml, fd date, fts timestamp, ftz timestamptz, tsmax timestamp"
                        + (extensions ? ", hs hstore, lt ltree" : "") + ")",
                "ALTER TABLE sbs_types REPLICA IDENTITY FULL",
                insertIntoTypes() + richRow(10));
        connect = ConnectFixture.start("side-by-side");
        Map<String, String> ours = WalFixture.walConfig(db, "ours", "public\\.sbs|public\\.sbs_types", ourSlot, "initial");
        ours.put("record.format", "envelope");
        connect.configureConnector("ours", ours);
        connect.configureConnector("dbz", debeziumConfig());
        WalFixture.awaitStreaming(db, ourSlot, TIMEOUT);
        WalFixture.awaitStreaming(db, debeziumSlot, TIMEOUT);
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
        // PostgreSQL's infinities first, in a row of their own.
        db.execute("INSERT INTO sbs (id, d, ts, ts3, tz, tz0) VALUES (2, 'infinity', '-infinity', 'infinity',"
                + " 'infinity', '-infinity'), (3, '-infinity', 'infinity', '-infinity', '-infinity', 'infinity')");
        db.execute("INSERT INTO sbs VALUES (1, -2147483648, 9223372036854775807, -123456789.125, 'Grüße, \"q\"', true,"
                + " '1969-12-31', '1969-12-31 23:59:59.999999', '2024-02-29 12:34:56.789', '2024-05-01 10:00:00.000001+02',"
                + " '2024-05-01 10:00:00+02', '1969-12-31 23:59:59.5-01', '23:59:59.999999', '13:14:15.5+05:30', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": [1, 2.50], \"a\": null}')");
        db.execute("UPDATE sbs SET i = 7, t = NULL, n = 0.001, ts = '2000-01-01 00:00:00', tz = '1900-01-01 00:00:00+00', tz3 = '2000-01-01 00:00:00+00',"
                + " j = '[]' WHERE id = 1");
        db.execute("DELETE FROM sbs WHERE id = 1");
        compareTopics("sbs", List.of("c", "c", "c", "u", "d"));
    }

    /** The columns of {@code sbs_types}, for an INSERT's VALUES. */
    private String insertIntoTypes() {
        return "INSERT INTO sbs_types (id, nv, nn, iv, b1, b8, vb, ia, ta, bcd, bcts, bcts3, bctz, ba, s, r, dp, m, c, vc,"
                + " e, dom, js, ip, net, mac, pt, x, fd, fts, ftz, tsmax" + (extensions ? ", hs, lt" : "") + ") VALUES";
    }

    /** A row of {@code sbs_types} with a value in every column but tsmax. */
    private String richRow(int id) {
        return " (" + id + ", 123.4500, 'NaN', '1 year 2 mons 3 days 04:05:06.789', B'1', B'10100101', B'1011001110',"
                + " '{1,NULL,-3}', '{\"a b\",NULL,\"\\\"q\\\"\",\"\"}', '0044-03-15 BC', '0044-03-15 12:34:56.789012 BC',"
                + " '0044-03-15 12:34:56.789 BC', '0044-03-15 12:34:56.5+00 BC', '\\x00ff10', -32768, 'NaN', 'Infinity',"
                + " -1234.56, 'ab', 'xyz', 'happy', 42, '{\"b\": [1, 2.50],  \"a\" : null}', '10.0.0.1', '10.0.0.0/8',"
                + " '08:00:2b:01:02:03', '(1.5,-2)', '<a>b</a>', '10000-01-01', '10000-01-01 00:00:00.5',"
                + " '10000-01-01 00:00:00+00', NULL" + (extensions ? ", 'a=>1, \"b c\"=>NULL', 'top.science.astronomy'" : "") + ")";
    }

    /**
     * sbs_types' row 10 comes from each connector's snapshot (a query, not the WAL: Debezium reads
     * it through JDBC, this connector as text); rows 1 to 4 from the WAL.
     */
    @Test
    void moreTypesAgreeFieldByField() throws Exception {
        // Each snapshot ends before the changes are made, so its read comes first on both topics.
        read("ours.public.sbs_types", "r");
        read("dbz.public.sbs_types", "r");
        db.execute(insertIntoTypes() + richRow(1) + ","
                + " (2, 'NaN', 0.5, '-1 day -00:00:01.5', B'0', B'00000001', B'', '{}', '{}', '4713-01-01 BC',"
                + " '0001-12-31 23:59:59.999999 BC', '0001-01-01 00:00:00 BC', '0001-12-31 23:59:59+00 BC', '\\x', 32767,"
                + " '-Infinity', 'NaN', 0, 'abcde', '', 'sad', 1, '[]', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',"
                + " '(0,0)', '<x/>', '294276-12-31', '200000-01-01 00:00:00', '294276-12-31 23:59:59.999999+00',"
                + " '294276-12-31 23:59:59.999999'"
                + (extensions ? ", '', ''" : "") + "),"
                + " (3, -0.000000001, -9999999.999, '6 mons 1 day -1 second', NULL, NULL, NULL, '{4,5}', NULL, '0001-01-01',"
                + " '1582-10-04 23:59:59', NULL, '1582-10-15 00:00:00+00', NULL, 0, 3.14159, -2.5e-300, 0.01, NULL, NULL,"
                + " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL" + (extensions ? ", NULL, NULL" : "") + "),"
                + " (4, 0, NULL, '292000 years 11 mons 29 days 23:59:59.999999', NULL, B'00000000', B'11111111111111111111',"
                + " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                + " NULL, '(1e300,-0)', NULL, NULL, NULL, NULL, NULL"
                + (extensions ? ", 'k=>\"line\nbreak\", \"x\\\\\\\"y\"=>\"é\"', NULL" : "") + ")");
        db.execute("UPDATE sbs_types SET nv = 1E+20, iv = '-178000000 years', ia = '{}', e = 'ok', r = 1.5, dp = -0.0 WHERE id = 1");
        db.execute("DELETE FROM sbs_types WHERE id = 1");
        compareTopics("sbs_types", List.of("r", "c", "c", "c", "c", "u", "d"));
    }

    /** Reads both connectors' topics of {@code table} and compares them event by event. */
    private void compareTopics(String table, List<String> ops) {
        List<JsonNode> mine = read("ours.public." + table, "d");
        List<JsonNode> theirs = read("dbz.public." + table, "d");
        System.out.println("DebeziumSideBySideIT ours (" + table + "): " + payloads(mine));
        System.out.println("DebeziumSideBySideIT Debezium's (" + table + "): " + payloads(theirs));
        assertEquals(ops, mine.stream().map(v -> v.get("payload").get("op").asText()).toList());
        assertEquals(ops, theirs.stream().map(v -> v.get("payload").get("op").asText()).toList());
        Set<String> differences = new LinkedHashSet<>();
        Set<String> byDesignSeen = new java.util.TreeSet<>();
        for (int i = 0; i < mine.size(); i++) {
            JsonNode a = mine.get(i).get("payload"), b = theirs.get(i).get("payload");
            String op = a.get("op").asText();
            assertEquals(b.get("source").get("table").asText(), a.get("source").get("table").asText());
            for (String side : List.of("before", "after")) {
                compareValues(table, op + "." + side, a.get(side), b.get(side), differences, byDesignSeen);
            }
            compareSchemas(table, columnSchemas(mine.get(i)), columnSchemas(theirs.get(i)), differences, byDesignSeen);
        }
        differences.forEach(d -> System.out.println("DebeziumSideBySideIT difference: " + d));
        assertTrue(differences.isEmpty(), "fields that differ from Debezium's: " + differences);
        // A difference by design that no longer shows is a stale entry (or a test that stopped looking).
        Set<String> expected = new java.util.TreeSet<>(BY_DESIGN.keySet());
        expected.removeIf(column -> !column.startsWith(table + "."));
        assertEquals(expected, byDesignSeen, "the differences by design that " + table + " shows");
    }

    private static void compareValues(String table, String where, JsonNode ours, JsonNode theirs,
                                      Set<String> differences, Set<String> byDesignSeen) {
        if (ours == null || ours.isNull() || theirs == null || theirs.isNull()) {
            if ((ours == null || ours.isNull()) != (theirs == null || theirs.isNull())) {
                differences.add(where + ": ours " + ours + ", Debezium's " + theirs);
            }
            return;
        }
        Map<String, JsonNode> mine = fields(ours), others = fields(theirs);
        assertEquals(others.keySet(), mine.keySet(), where + ": the same columns");
        for (String column : mine.keySet()) {
            if (!mine.get(column).equals(others.get(column))) {
                note(table, where.substring(0, where.indexOf('.')), column, table + " " + where + "." + column + ": ours " + mine.get(column)
                        + ", Debezium's " + others.get(column), differences, byDesignSeen);
            }
        }
    }

    /** Each column's schema, as everything but the field's name: type, optional, name, version, parameters, items. */
    private static void compareSchemas(String table, Map<String, JsonNode> ours, Map<String, JsonNode> theirs,
                                       Set<String> differences, Set<String> byDesignSeen) {
        assertEquals(theirs.keySet(), ours.keySet(), table + ": the same columns in the schema");
        for (String column : ours.keySet()) {
            if (!ours.get(column).equals(theirs.get(column))) {
                note(table, null, column, table + " schema of " + column + ": ours " + ours.get(column)
                        + ", Debezium's " + theirs.get(column), differences, byDesignSeen);
            }
        }
    }

    /** A difference: by design (then printed and remembered) or one to fail on. {@code op} is null for a schema. */
    private static void note(String table, String op, String column, String difference, Set<String> differences,
                             Set<String> byDesignSeen) {
        String key = BY_DESIGN.containsKey(table + "." + column) ? table + "." + column
                : op != null && BY_DESIGN.containsKey(table + "." + op + "." + column) ? table + "." + op + "." + column
                : null;
        if (key != null) {
            System.out.println("DebeziumSideBySideIT by design (" + BY_DESIGN.get(key) + "): " + difference);
            byDesignSeen.add(key);
        } else {
            differences.add(difference);
        }
    }

    /** The column schemas of the envelope's {@code after} field (the row schema, which {@code before} shares). */
    private static Map<String, JsonNode> columnSchemas(JsonNode record) {
        Map<String, JsonNode> columns = new TreeMap<>();
        for (JsonNode envelopeField : record.get("schema").get("fields")) {
            if (envelopeField.get("field").asText().equals("after")) {
                for (JsonNode column : envelopeField.get("fields")) {
                    ObjectNode schema = column.deepCopy();
                    schema.remove("field");
                    columns.put(column.get("field").asText(), schema);
                }
            }
        }
        return columns;
    }

    private static Map<String, JsonNode> fields(JsonNode node) {
        Map<String, JsonNode> fields = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            fields.put(field.getKey(), field.getValue());
        }
        return fields;
    }

    private static List<JsonNode> payloads(List<JsonNode> records) {
        return records.stream().map(r -> r.get("payload")).toList();
    }

    /**
     * A topic's records, schema and payload as JsonConverter wrote them (tombstones left out),
     * once one with operation {@code until} has come.
     */
    private List<JsonNode> read(String topic, String until) {
        List<JsonNode> values = new ArrayList<>();
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, connect.kafka().bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "sbs-" + java.util.UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.listTopics(Duration.ofSeconds(5)).get(topic) == null) {
                assertTrue(System.nanoTime() < deadline, "topic " + topic + " not created within " + TIMEOUT);
            }
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            while (values.stream().noneMatch(v -> v.get("payload").get("op").asText().equals(until))) {
                assertTrue(System.nanoTime() < deadline, "no op " + until + " on " + topic + " within " + TIMEOUT
                        + "; read so far: " + payloads(values));
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode value = record.value() == null ? null : parse(record.value());
                    if (value != null && value.hasNonNull("payload")) {
                        values.add(value);
                    }
                }
            }
        }
        return values;
    }

    private static JsonNode parse(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Map<String, String> debeziumConfig() {
        Map<String, String> config = DebeziumConnector.config(db, debeziumSlot, "public.sbs,public.sbs_types", "initial");
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
