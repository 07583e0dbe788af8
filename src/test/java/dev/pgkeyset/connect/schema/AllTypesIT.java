package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * Every documented type, through a real worker and JsonConverter, compared value by value with
 * what PostgreSQL itself says the value is: for each column, a SQL expression computes the JSON the
 * record must hold (the same instant in epoch milliseconds, the same text form, the same array
 * with its NULL elements and dimensions). Rows hold typical, NULL, special and extreme values.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AllTypesIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** Milliseconds of a timestamp/timestamptz as a Connect Timestamp carries them (±infinity at the long extremes). */
    private static String millis(String e) {
        return "CASE WHEN " + e + " = 'infinity' THEN 9223372036854775807 WHEN " + e + " = '-infinity' THEN "
                + "-9223372036854775808 ELSE floor(extract(epoch FROM " + e + ") * 1000)::bigint END";
    }

    private static String days(String e) {
        return "CASE WHEN " + e + " = 'infinity' THEN 2147483647 WHEN " + e + " = '-infinity' THEN -2147483647"
                + " ELSE " + e + " - date '1970-01-01' END";
    }

    /** A 1-D array mapped element by element; NULL stays NULL, '{}' becomes []. */
    private static String eachElement(String column, String elementJson) {
        return "CASE WHEN " + column + " IS NULL THEN 'null'::jsonb ELSE coalesce((SELECT jsonb_agg(" + elementJson
                + " ORDER BY o) FROM unnest(" + column + ") WITH ORDINALITY u(e, o)), '[]'::jsonb) END";
    }

    private static String base64(String e) {
        return "translate(encode(" + e + ", 'base64'), E'\\n', '')";
    }

    /** Column → the JSON the record must hold, computed by PostgreSQL. */
    private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("i2", "to_jsonb(i2)");
        EXPECTED.put("i4", "to_jsonb(i4)");
        EXPECTED.put("i8", "to_jsonb(i8)");
        EXPECTED.put("o", "to_jsonb(o::bigint)");
        EXPECTED.put("n", "CASE WHEN n = 'NaN' THEN 'null'::jsonb ELSE to_jsonb(n) END");
        EXPECTED.put("nfree", "to_jsonb(nfree::text)");
        EXPECTED.put("r", "to_jsonb(r)");
        EXPECTED.put("d", "to_jsonb(d)");
        EXPECTED.put("b", "to_jsonb(b)");
        EXPECTED.put("t", "to_jsonb(t)");
        EXPECTED.put("vc", "to_jsonb(vc)");
        EXPECTED.put("c", "to_jsonb(c::varchar || repeat(' ', 4 - length(c)))");
        EXPECTED.put("nm", "to_jsonb(nm::text)");
        EXPECTED.put("ch", "to_jsonb(ch::text)");
        EXPECTED.put("u", "to_jsonb(u::text)");
        EXPECTED.put("by", "to_jsonb(" + base64("by") + ")");
        EXPECTED.put("js", "to_jsonb(js::text)");
        EXPECTED.put("jb", "to_jsonb(jb::text)");
        EXPECTED.put("x", "to_jsonb(x::text)");
        EXPECTED.put("dt", "to_jsonb(" + days("dt") + ")");
        EXPECTED.put("tm", "to_jsonb(floor(extract(epoch FROM tm) * 1000)::bigint)");
        EXPECTED.put("ttz", "to_jsonb(ttz::text)");
        EXPECTED.put("ts", "to_jsonb(" + millis("ts") + ")");
        EXPECTED.put("tstz", "to_jsonb(" + millis("tstz") + ")");
        EXPECTED.put("iv", "to_jsonb(iv::text)");
        EXPECTED.put("mood", "to_jsonb(mood::text)");
        EXPECTED.put("price", "to_jsonb(price::numeric)");
        EXPECTED.put("amount", "to_jsonb(amount)");
        EXPECTED.put("label", "to_jsonb(label::text)");
        EXPECTED.put("m", "to_jsonb(m::numeric)");
        EXPECTED.put("ip", "to_jsonb(ip)");
        EXPECTED.put("net", "to_jsonb(net)");
        EXPECTED.put("mac", "to_jsonb(mac::text)");
        EXPECTED.put("mac8", "to_jsonb(mac8::text)");
        EXPECTED.put("bits", "to_jsonb(bits::text)");
        EXPECTED.put("vbits", "to_jsonb(vbits::text)");
        EXPECTED.put("pt", "to_jsonb(pt::text)");
        EXPECTED.put("ln", "to_jsonb(ln::text)");
        EXPECTED.put("ls", "to_jsonb(ls::text)");
        EXPECTED.put("bx", "to_jsonb(bx::text)");
        EXPECTED.put("pth", "to_jsonb(pth::text)");
        EXPECTED.put("pg", "to_jsonb(pg::text)");
        EXPECTED.put("ci", "to_jsonb(ci::text)");
        EXPECTED.put("ir", "to_jsonb(ir::text)");
        EXPECTED.put("tr", "to_jsonb(tr::text)");
        EXPECTED.put("mr", "to_jsonb(mr::text)");
        EXPECTED.put("tsv", "to_jsonb(tsv::text)");
        EXPECTED.put("lsn", "to_jsonb(lsn::text)");
        EXPECTED.put("comp", "to_jsonb(comp::text)");
        EXPECTED.put("ai", "to_jsonb(ai)");
        EXPECTED.put("at", "to_jsonb(at)");
        EXPECTED.put("ai2", "to_jsonb(ai2)");
        EXPECTED.put("an", "to_jsonb(an)");
        EXPECTED.put("ab", eachElement("ab", "to_jsonb(" + base64("e") + ")"));
        EXPECTED.put("atz", eachElement("atz", "to_jsonb(" + millis("e") + ")"));
        EXPECTED.put("adt", eachElement("adt", "to_jsonb(" + days("e") + ")"));
        EXPECTED.put("ab2", "to_jsonb(ab2)");
        EXPECTED.put("aiv", "to_jsonb(aiv::text[])");
        EXPECTED.put("ajb", "to_jsonb(ajb::text[])");
        EXPECTED.put("amood", "to_jsonb(amood::text[])");
        EXPECTED.put("aip", "to_jsonb(aip)");
        EXPECTED.put("abx", "to_jsonb(abx::text[])");
        EXPECTED.put("am", "to_jsonb(am::numeric[])");
        EXPECTED.put("alabel", "to_jsonb(alabel::text[])");
    }

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("all_types");
        db.execute(
                "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy, really')",
                "CREATE DOMAIN price AS numeric(8,2) CHECK (VALUE >= 0)",
                "CREATE DOMAIN amount AS price",
                "CREATE DOMAIN label AS text NOT NULL",
                "CREATE TYPE pair AS (a int, b text)",
                "CREATE TABLE every_type (id int PRIMARY KEY,"
                        + " i2 smallint, i4 integer, i8 bigint, o oid, n numeric(12,3), nfree numeric, r real,"
                        + " d double precision, b boolean, t text, vc varchar(10), c char(4), nm name, ch \"char\","
                        + " u uuid, by bytea, js json, jb jsonb, x xml, dt date, tm time, ttz timetz, ts timestamp,"
                        + " tstz timestamptz, iv interval, mood mood, price price, amount amount, label label, m money,"
                        + " ip inet, net cidr, mac macaddr, mac8 macaddr8, bits bit(8), vbits varbit, pt point,"
                        + " ln line, ls lseg, bx box, pth path, pg polygon, ci circle, ir int4range, tr tstzrange,"
                        + " mr int4multirange, tsv tsvector, lsn pg_lsn, comp pair,"
                        + " ai int[], at text[], ai2 int[][], an numeric(10,2)[], ab bytea[], atz timestamptz[],"
                        + " adt date[], ab2 boolean[][], aiv interval[], ajb jsonb[], amood mood[], aip inet[],"
                        + " abx box[], am money[], alabel label[])",
                // Typical values.
                "INSERT INTO every_type VALUES (1, 12, 1234, 123456789012, 42, 1234.5, 3.14159265358979323846264338,"
                        + " 1.1, 2.2, true, 'text', 'varchar', 'ab', 'name', 'c',"
                        + " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x0001fe', '{\"b\": 1, \"a\": [1, 2]}',"
                        + " '{\"b\": 1, \"a\": [1, 2]}', '<a x=\"1\">text</a>', '2024-02-29', '13:14:15.123456',"
                        + " '13:14:15.123456+02', '2024-05-01 10:00:00.123456', '2024-05-01 10:00:00.123456+02',"
                        + " '1 year 2 months 3 days 04:05:06.000007', 'ok', 12.5, 7.25, 'lbl', 1234.56,"
                        + " '192.168.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',"
                        + " B'10101010', B'101', '(1.5,2)', '{1,-1,0}', '[(0,0),(1,1)]', '((1,1),(0,0))',"
                        + " '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))', '<(1,1),2>', '[1,10)',"
                        + " '[2024-01-01 00:00:00+00,2024-02-01 00:00:00+00)', '{[1,3),[5,7)}',"
                        + " 'a fat cat sat', '16/B374D848', ROW(1, 'one'),"
                        + " '{1,2,3}', '{\"a b\",\"c,d\",\"e\\\"f\",\"{g}\",\"NULL\",NULL}', '{{1,2},{3,4}}',"
                        + " '{1.50,NULL,-2}', '{\"\\\\x00ff\",NULL}', '{\"2024-05-01 10:00:00.5+00\",NULL}',"
                        + " '{2024-05-01,infinity}', '{{t,f},{NULL,t}}', '{\"1 day\",\"-1 mon 2 hours\"}',"
                        + " ARRAY['{\"k\": [1]}'::jsonb, NULL], '{ok,sad}', '{::1,10.0.0.1}', '{(1,1),(0,0);(2,2),(1,1)}',"
                        + " '{1.25,2}', '{x,y}')",
                // Every nullable column NULL.
                "INSERT INTO every_type (id, label) VALUES (2, 'only')",
                // Special values.
                "INSERT INTO every_type (id, i2, i4, i8, n, nfree, r, d, t, by, dt, tm, ts, tstz, iv, label, ai, at, ab,"
                        + " atz, ai2, vbits, ir, mr, price) VALUES"
                        + " (3, -32768, -2147483648, -9223372036854775808, 'NaN', 'NaN', 'NaN', 'Infinity',"
                        + " repeat('x', 100000), ''::bytea, '-infinity', '24:00:00', '-infinity', 'infinity',"
                        + " '-178000000 years', 'l', '{}', '{}', '{}', '{}', '{}', B'', 'empty', '{}', 0),"
                        + " (4, 32767, 2147483647, 9223372036854775807, '-999999999.999', '-Infinity', '-Infinity',"
                        + " '-Infinity', 'Grüße, 世界 \"quoted\" \\ back', decode(repeat('ab', 10240), 'hex'),"
                        + " '4713-01-01 BC', '00:00:00', '0045-03-15 12:00:00.000001 BC', '1969-12-31 23:59:59.999999+00',"
                        + " '00:00:00', 'l', '{NULL}', '{\"\"}', '{\"\\\\x\"}', '{-infinity}', '{{NULL}}', B'1', '(,)',"
                        + " '{(,5)}', 0.01),"
                        + " (5, 0, 0, 0, 0, '0.000000000000000000000000000001', 0, 0, '', NULL, '1970-01-01',"
                        + " '23:59:59.999999', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00',"
                        + " '-1 days -00:00:00.000001', 'l', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
        connect = ConnectFixture.start("all-types");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    @Test
    void everyTypeArrivesAsPostgresSaysItIs() throws Exception {
        Map<String, String> config = db.connectorConfig("types", "public\\.every_type");
        config.put("snapshot.mode", "initial_only");
        connect.configureConnector("types", config);
        Map<Integer, JsonNode> rows = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                List.of("types.public.every_type"))) {
            reader.readUntil(() -> rows.size() == 5, TIMEOUT, row -> rows.put(row.key().get("id").asInt(), row.value()));
        }
        List<String> mismatches = againstPostgres(rows, "id <= 5", 0);
        assertTrue(mismatches.isEmpty(), mismatches.size() + " mismatches:\n" + String.join("\n", mismatches));
        assertEquals(5, rows.size());
    }

    /**
     * Each row's record compared column by column with the JSON PostgreSQL computes for the row
     * {@code idShift} lower (the WAL rows are copies of the snapshot rows under other ids).
     */
    private List<String> againstPostgres(Map<Integer, JsonNode> rows, String where, int idShift) throws Exception {
        ObjectMapper json = new ObjectMapper()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        List<String> mismatches = new ArrayList<>();
        StringBuilder select = new StringBuilder("SELECT id");
        EXPECTED.values().forEach(e -> select.append(", (").append(e).append(")::text"));
        select.append(" FROM every_type WHERE ").append(where).append(" ORDER BY id");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("SET IntervalStyle = 'iso_8601'");
            try (ResultSet rs = st.executeQuery(select.toString())) {
                while (rs.next()) {
                    int id = rs.getInt(1) + idShift;
                    JsonNode value = rows.get(id);
                    assertNotNull(value, "row " + id);
                    int i = 2;
                    for (String column : EXPECTED.keySet()) {
                        String expectedText = rs.getString(i++);
                        JsonNode expected = expectedText == null ? json.nullNode() : json.readTree(expectedText);
                        JsonNode actual = value.get(column);
                        if (!sameJson(expected, actual == null ? json.nullNode() : actual)) {
                            mismatches.add("row " + id + " column " + column + ": expected " + abbreviate(expected)
                                    + " but was " + abbreviate(actual));
                        }
                    }
                }
            }
        }
        return mismatches;
    }

    /**
     * capture.mode=wal: the snapshot's records of rows 1-5, then the WAL's records of their copies
     * (rows 101-105, inserted while streaming) and of an update of each copy that changes nothing
     * (its large values then come as unchanged TOAST, fetched by key): every WAL record equals the
     * snapshot record of the same row, field by field, and both equal what PostgreSQL computes.
     */
    @Test
    void walRecordsEqualTheSnapshotRecordsOfTheSameRows() throws Exception {
        String slot = dev.pgkeyset.connect.testing.WalFixture.uniqueName("types");
        try {
            connect.configureConnector("wtypes", dev.pgkeyset.connect.testing.WalFixture.walConfig(db, "wtypes",
                    "public\\.every_type", slot, "initial"));
            Map<Integer, JsonNode> snapshot = new HashMap<>();
            Map<Integer, JsonNode> inserted = new HashMap<>();
            Map<Integer, JsonNode> updated = new HashMap<>();
            try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                    List.of("wtypes.public.every_type"))) {
                java.util.function.Consumer<TopicReader.Row> sort = row -> {
                    int id = row.key().get("id").asInt();
                    switch (String.valueOf(row.op())) {
                        case "r" -> snapshot.put(id, row.value());
                        case "c" -> inserted.put(id, row.value());
                        case "u" -> updated.put(id, row.value());
                        default -> throw new AssertionError("unexpected op " + row.op() + " for row " + id);
                    }
                };
                reader.readUntil(() -> snapshot.size() == 5, TIMEOUT, sort);
                dev.pgkeyset.connect.testing.WalFixture.awaitStreaming(db, slot, TIMEOUT);
                db.execute("INSERT INTO every_type SELECT id + 100, i2, i4, i8, o, n, nfree, r, d, b, t, vc, c, nm, ch,"
                        + " u, by, js, jb, x, dt, tm, ttz, ts, tstz, iv, mood, price, amount, label, m, ip, net, mac,"
                        + " mac8, bits, vbits, pt, ln, ls, bx, pth, pg, ci, ir, tr, mr, tsv, lsn, comp, ai, at, ai2, an,"
                        + " ab, atz, adt, ab2, aiv, ajb, amood, aip, abx, am, alabel FROM every_type WHERE id <= 5");
                reader.readUntil(() -> inserted.size() == 5, TIMEOUT, sort);
                db.execute("UPDATE every_type SET i2 = i2 WHERE id > 100");
                reader.readUntil(() -> updated.size() == 5, TIMEOUT, sort);
            }
            List<String> mismatches = new ArrayList<>();
            for (Map<Integer, JsonNode> wal : List.of(inserted, updated)) {
                for (int id = 1; id <= 5; id++) {
                    JsonNode fromWal = wal.get(id + 100).deepCopy();
                    JsonNode fromSnapshot = snapshot.get(id).deepCopy();
                    ((com.fasterxml.jackson.databind.node.ObjectNode) fromWal).remove("id");
                    ((com.fasterxml.jackson.databind.node.ObjectNode) fromSnapshot).remove("id");
                    java.util.Iterator<String> names = fromSnapshot.fieldNames();
                    while (names.hasNext()) {
                        String column = names.next();
                        if (!fromSnapshot.get(column).equals(fromWal.get(column))) {
                            mismatches.add((wal == inserted ? "insert" : "update") + " of row " + (id + 100)
                                    + " column " + column + ": snapshot " + abbreviate(fromSnapshot.get(column))
                                    + ", WAL " + abbreviate(fromWal.get(column)));
                        }
                    }
                    if (fromSnapshot.size() != fromWal.size()) {
                        mismatches.add("row " + (id + 100) + ": " + fromWal.size() + " fields from the WAL, "
                                + fromSnapshot.size() + " in the snapshot");
                    }
                }
                mismatches.addAll(againstPostgres(wal, "id <= 5", 100));
            }
            assertTrue(mismatches.isEmpty(), mismatches.size() + " mismatches:\n" + String.join("\n", mismatches));
        } finally {
            try {
                connect.deleteConnector("wtypes");
            } finally {
                dev.pgkeyset.connect.testing.WalFixture.dropSlotAndPublication(db, slot);
                // The other test snapshots rows 1-5 only.
                db.execute("DELETE FROM every_type WHERE id > 100");
            }
        }
    }

    /** JSON equality where numbers compare by value (1.50 = 1.5). */
    private static boolean sameJson(JsonNode expected, JsonNode actual) {
        if (expected.isNumber() && actual.isNumber()) {
            return expected.decimalValue().compareTo(actual.decimalValue()) == 0;
        }
        if (expected.isArray() && actual.isArray()) {
            if (expected.size() != actual.size()) {
                return false;
            }
            for (int i = 0; i < expected.size(); i++) {
                if (!sameJson(expected.get(i), actual.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return expected.equals(actual);
    }

    private static String abbreviate(JsonNode node) {
        String text = String.valueOf(node);
        return text.length() > 120 ? text.substring(0, 120) + "… (" + text.length() + " chars)" : text;
    }
}
