package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.testing.CommittedOffsets;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RowHash;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;

/**
 * End to end through a real broker and a real distributed worker: every captured table is copied
 * completely, values equal to what SQL returns; a stopped connector resumes at its committed key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotCopyIT {

    private static final int BIG_ROWS = 200_000;
    private static final Duration TIMEOUT = Duration.ofMinutes(4);

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("snapshot_copy");
        db.execute(
                "CREATE TABLE big (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL,"
                        + " flag boolean, created timestamptz NOT NULL)",
                "INSERT INTO big SELECT g, 'row-' || g, (g % 100000) / 100.0, CASE WHEN g % 7 = 0 THEN NULL"
                        + " ELSE g % 3 = 0 END, timestamptz '2024-01-01 00:00:00+00' + g * interval '1.234567 second'"
                        + " FROM generate_series(1, " + BIG_ROWS + ") g",
                "ANALYZE big",
                // Composite text + int key; text compares under the database collation, non-ASCII included.
                "CREATE TABLE regional (region text, id int, qty int NOT NULL, PRIMARY KEY (region, id))",
                "INSERT INTO regional SELECT (ARRAY['eu','us','ap','Äpfel','zz','EU'])[1 + g % 6], g / 6, g"
                        + " FROM generate_series(0, 5999) g",
                // No primary key: read by key.columns.
                "CREATE TABLE nokey (code varchar(20) NOT NULL UNIQUE, note text)",
                "INSERT INTO nokey SELECT 'code-' || g, CASE WHEN g % 2 = 0 THEN 'n' || g END"
                        + " FROM generate_series(1, 1500) g",
                "CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, n numeric(10,3),"
                        + " nfree numeric, r real, d double precision, b boolean, t text, vc varchar(10), c char(4),"
                        + " by bytea, dt date, tm time, ts timestamp, tstz timestamptz, u uuid, js jsonb)",
                "INSERT INTO types SELECT g, (g - 50)::smallint, g * 1000, g * 10000000000, g * 1.125,"
                        + " (g || '.' || repeat('7', g % 20))::numeric, g / 3.0, g / 7.0, g % 2 = 0, 'text ' || g,"
                        + " 'vc' || g, 'c' || (g % 10), decode(lpad(to_hex(g), 8, '0'), 'hex'),"
                        + " date '2000-02-29' + g, time '13:14:15.123456' + g * interval '1 minute',"
                        + " timestamp '2021-03-04 05:06:07.891234' + g * interval '1 day',"
                        + " timestamptz '2021-03-04 05:06:07.891234+02' + g * interval '1 hour',"
                        + " md5(g::text)::uuid, jsonb_build_object('g', g) FROM generate_series(1, 200) g",
                "INSERT INTO types (id) VALUES (1000)",
                // Declaratively partitioned: captured once, through the parent.
                "CREATE TABLE measurements (id int, region text, v int, PRIMARY KEY (id, region))"
                        + " PARTITION BY LIST (region)",
                "CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu')",
                "CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us')",
                "INSERT INTO measurements SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g"
                        + " FROM generate_series(1, 1000) g",
                // A view with key.columns is captured; one without is passed over.
                "CREATE VIEW big_view AS SELECT id, name FROM big WHERE id <= 100",
                "CREATE VIEW ignored_view AS SELECT 1 AS x");
        connect = ConnectFixture.start("snapshot-copy");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    private Map<String, String> connectorConfig(String prefix, String includeList) {
        Map<String, String> config = db.connectorConfig(prefix, includeList);
        config.put("tasks.max", "2");
        config.put("key.columns", "public.nokey:code,public.big_view:id");
        config.put("fetch.size", "700");
        config.put("batch.max.rows", "1000");
        return config;
    }

    @Test
    void copiesEveryCapturedTableCompletely() throws Exception {
        connect.configureConnector("copy", connectorConfig("copy", "public\\..*"));
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("copy", 2, "connector did not start");

        Map<String, Map<String, JsonNode>> small = new HashMap<>();
        long[] bigHashes = new long[BIG_ROWS + 1];
        AtomicLong bigRecords = new AtomicLong();
        AtomicLong bigDistinct = new AtomicLong();
        List<String> badOps = new ArrayList<>();
        Map<String, Integer> expectedCounts = Map.of("copy.public.regional", 6000, "copy.public.nokey", 1500,
                "copy.public.types", 201, "copy.public.measurements", 1000, "copy.public.big_view", 100);
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("copy.public.big",
                "copy.public.regional", "copy.public.nokey", "copy.public.types", "copy.public.measurements",
                "copy.public.big_view"))) {
            reader.readUntil(() -> bigDistinct.get() == BIG_ROWS && expectedCounts.entrySet().stream()
                    .allMatch(e -> small.getOrDefault(e.getKey(), Map.of()).size() == e.getValue()), TIMEOUT, row -> {
                        if (!"r".equals(row.op())) {
                            badOps.add(row.topic() + " " + row.key() + " op=" + row.op());
                        }
                        if (row.topic().equals("copy.public.big")) {
                            int id = row.key().get("id").asInt();
                            bigRecords.incrementAndGet();
                            if (bigHashes[id] == 0) {
                                bigDistinct.incrementAndGet();
                            }
                            bigHashes[id] = bigRowHash(row.value());
                        } else {
                            small.computeIfAbsent(row.topic(), t -> new HashMap<>()).put(row.key().toString(), row.value());
                        }
                    });
        }
        assertTrue(badOps.isEmpty(), "every snapshot record carries header pgkeyset.op=r: " + badOps);
        assertEquals(BIG_ROWS, bigRecords.get(), "no duplicates in an undisturbed run");
        assertBigTableEqualsSql(bigHashes);
        assertRegionalEqualsSql(small.get("copy.public.regional"));
        assertNokeyEqualsSql(small.get("copy.public.nokey"));
        assertTypesEqualSql(small.get("copy.public.types"));
        assertEquals(1000, small.get("copy.public.measurements").size());
        assertEquals(100, small.get("copy.public.big_view").size());

        Set<String> topics = Set.copyOf(connect.kafka().createAdminClient().listTopics().names().get());
        assertFalse(topics.contains("copy.public.measurements_eu"), "partitions are not captured on their own");
        assertFalse(topics.contains("copy.public.ignored_view"), "a view without key.columns is passed over");

        // Every table's committed offset says its snapshot is complete.
        ConnectFixture.waitFor("all offsets snapshot_complete", Duration.ofSeconds(30), () -> {
            List<ConnectorOffset> offsets = connect.connectorOffsets("copy").offsets();
            return offsets.size() == 6 && offsets.stream()
                    .allMatch(o -> "snapshot_complete".equals(o.offset().get("phase")));
        });
        connect.deleteConnector("copy");
    }

    private static long bigRowHash(JsonNode value) {
        return RowHash.of(value.get("id").asLong(), value.get("name").asText(),
                plainNumber(value.get("amount").decimalValue()),
                value.get("flag").isNull() ? "null" : value.get("flag").asBoolean(), value.get("created").asLong());
    }

    /**
     * JsonConverter writes decimals through Jackson's node factory, which drops trailing zeros
     * ({@code 0.10} arrives as {@code 0.1}): the number is exact, its written scale is not.
     */
    private static String plainNumber(BigDecimal value) {
        return value.stripTrailingZeros().toPlainString();
    }

    private void assertBigTableEqualsSql(long[] hashes) throws Exception {
        int mismatches = 0;
        String firstMismatch = null;
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, name, amount::text, flag,"
                     + " floor(extract(epoch FROM created) * 1000)::bigint FROM big ORDER BY id")) {
            while (rs.next()) {
                int id = rs.getInt(1);
                Object flag = rs.getObject(4) == null ? "null" : rs.getBoolean(4);
                long expected = RowHash.of((long) id, rs.getString(2), plainNumber(new BigDecimal(rs.getString(3))),
                        flag, rs.getLong(5));
                if (hashes[id] != expected) {
                    mismatches++;
                    firstMismatch = firstMismatch == null ? "id " + id : firstMismatch;
                }
            }
        }
        assertEquals(0, mismatches, "rows of big differing from SQL, first: " + firstMismatch);
    }

    private void assertRegionalEqualsSql(Map<String, JsonNode> records) throws Exception {
        Map<String, Integer> expected = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT region, id, qty FROM regional")) {
            while (rs.next()) {
                expected.put(rs.getString(1) + "/" + rs.getInt(2), rs.getInt(3));
            }
        }
        Map<String, Integer> actual = new HashMap<>();
        records.values().forEach(v -> actual.put(v.get("region").asText() + "/" + v.get("id").asInt(),
                v.get("qty").asInt()));
        assertEquals(expected, actual);
    }

    private void assertNokeyEqualsSql(Map<String, JsonNode> records) throws Exception {
        Map<String, String> expected = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT code, note FROM nokey")) {
            while (rs.next()) {
                expected.put(rs.getString(1), rs.getString(2));
            }
        }
        Map<String, String> actual = new HashMap<>();
        records.values().forEach(v -> actual.put(v.get("code").asText(),
                v.get("note").isNull() ? null : v.get("note").asText()));
        assertEquals(expected, actual);
    }

    /** Each column checked against the JDBC value, converted by hand to what the JSON must hold. */
    private void assertTypesEqualSql(Map<String, JsonNode> records) throws Exception {
        Map<Integer, JsonNode> byId = new HashMap<>();
        records.values().forEach(v -> byId.put(v.get("id").asInt(), v));
        ObjectMapper json = new ObjectMapper();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM types ORDER BY id")) {
            while (rs.next()) {
                int id = rs.getInt("id");
                JsonNode v = byId.get(id);
                assertNotNull(v, "types row " + id);
                if (id == 1000) {
                    v.fieldNames().forEachRemaining(f -> assertTrue(f.equals("id") || v.get(f).isNull(),
                            "NULL column " + f + " of the all-NULL row: " + v.get(f)));
                    continue;
                }
                assertEquals(rs.getShort("i2"), v.get("i2").shortValue(), "i2 of " + id);
                assertEquals(rs.getInt("i4"), v.get("i4").intValue(), "i4 of " + id);
                assertEquals(rs.getLong("i8"), v.get("i8").longValue(), "i8 of " + id);
                assertEquals(plainNumber(rs.getBigDecimal("n")), plainNumber(v.get("n").decimalValue()), "n of " + id);
                assertEquals(rs.getBigDecimal("nfree").toPlainString(), v.get("nfree").asText(), "nfree of " + id);
                assertEquals(rs.getFloat("r"), v.get("r").floatValue(), "r of " + id);
                assertEquals(rs.getDouble("d"), v.get("d").doubleValue(), "d of " + id);
                assertEquals(rs.getBoolean("b"), v.get("b").booleanValue(), "b of " + id);
                assertEquals(rs.getString("t"), v.get("t").asText(), "t of " + id);
                assertEquals(rs.getString("vc"), v.get("vc").asText(), "vc of " + id);
                assertEquals(rs.getString("c"), v.get("c").asText(), "c of " + id);
                assertEquals(Base64.getEncoder().encodeToString(rs.getBytes("by")), v.get("by").asText(), "by of " + id);
                assertEquals(rs.getObject("dt", LocalDate.class).toEpochDay(), v.get("dt").asLong(), "dt of " + id);
                assertEquals(rs.getObject("tm", LocalTime.class).toNanoOfDay() / 1_000_000, v.get("tm").asLong(),
                        "tm of " + id);
                assertEquals(rs.getObject("ts", LocalDateTime.class).toInstant(ZoneOffset.UTC).toEpochMilli(),
                        v.get("ts").asLong(), "ts of " + id);
                assertEquals(rs.getObject("tstz", OffsetDateTime.class).toInstant().toEpochMilli(),
                        v.get("tstz").asLong(), "tstz of " + id);
                assertEquals(rs.getString("u"), v.get("u").asText(), "u of " + id);
                assertEquals(json.readTree(rs.getString("js")), json.readTree(v.get("js").asText()), "js of " + id);
            }
        }
        assertEquals(201, byId.size());
        assertTrue(Objects.requireNonNull(byId.get(1)).get("n").decimalValue().compareTo(new BigDecimal("1.125")) == 0);
        assertNull(byId.get(1000).get("t").textValue());
    }

    @Test
    void resumesAtTheCommittedKeyAfterAStop() throws Exception {
        String bootstrap = connect.kafka().bootstrapServers();
        Map<String, String> config = connectorConfig("resume", "public\\.big");
        config.put("tasks.max", "1");
        long keyAtStop;
        // Throttled to a few MB/s so the stop lands in the middle of the table.
        ConnectFixture.throttleProducers(bootstrap, 4_000_000.0);
        try {
            connect.configureConnector("resume", config);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("resume", 1, "connector did not start");
            ConnectFixture.waitFor("a committed key past 20000", TIMEOUT,
                    () -> CommittedOffsets.snapshotKey(connect, "resume", "public.big") > 20_000);
            // Mid-snapshot, the task's plugin metrics are readable over JMX, tagged with the table.
            javax.management.MBeanServer jmx = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            java.util.Set<javax.management.ObjectName> names = jmx.queryNames(
                    new javax.management.ObjectName("kafka.connect:type=plugins,connector=resume,*"), null);
            javax.management.ObjectName big = names.stream()
                    .filter(n -> "public.big".equals(n.getKeyProperty("table"))).findFirst()
                    .orElseThrow(() -> new AssertionError("no plugin metrics for public.big in " + names));
            double percent = (Double) jmx.getAttribute(big, "snapshot-progress-percent");
            assertTrue(percent > 0 && percent < 100, "snapshot progress mid-table: " + percent);
            assertTrue((Long) jmx.getAttribute(big, "rows-read-total") > 20_000);
            assertTrue((Long) jmx.getAttribute(big, "cursor-openings-total") >= 1);
            assertTrue((Double) jmx.getAttribute(big, "snapshot-eta-seconds") > 0);
            System.out.printf("JMX mid-snapshot: %s progress %.1f%%%n", big, percent);
            connect.stopConnector("resume");
            connect.assertions().assertConnectorIsStopped("resume", "connector did not stop");
            keyAtStop = CommittedOffsets.snapshotKey(connect, "resume", "public.big");
        } finally {
            ConnectFixture.throttleProducers(bootstrap, null);
        }
        assertTrue(keyAtStop < BIG_ROWS, "stopped mid-table (committed key " + keyAtStop + ")");

        connect.resumeConnector("resume");
        int[] seen = new int[BIG_ROWS + 1];
        AtomicLong distinct = new AtomicLong();
        try (TopicReader reader = new TopicReader(bootstrap, List.of("resume.public.big"))) {
            reader.readUntil(() -> distinct.get() == BIG_ROWS, TIMEOUT, row -> {
                if (seen[row.key().get("id").asInt()]++ == 0) {
                    distinct.incrementAndGet();
                }
            });
            reader.readFor(Duration.ofSeconds(2), row -> seen[row.key().get("id").asInt()]++);
        }
        int duplicates = 0;
        for (int id = 1; id <= BIG_ROWS; id++) {
            if (id <= keyAtStop) {
                assertEquals(1, seen[id], "row " + id + " at or before the committed key " + keyAtStop
                        + " must not be read again");
            }
            duplicates += Math.max(0, seen[id] - 1);
        }
        System.out.printf("resume after stop: committed key %d, %d re-delivered rows%n", keyAtStop, duplicates);
        connect.deleteConnector("resume");
    }
}
