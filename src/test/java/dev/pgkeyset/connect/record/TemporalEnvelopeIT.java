package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
 * Dates and times in record.format=envelope are Debezium's adaptive ones (time(0..3) and
 * timestamp(0..3) in milliseconds, wider ones in microseconds, days for dates, ISO text in UTC
 * for timestamptz, its fraction as wide as the column's precision, and timetz), in capture.mode=query's snapshot and in capture.mode=wal's snapshot
 * and stream. Edge values (the infinities, 24:00:00, just before the epoch, year 1, offsets with
 * seconds) and random ones with a printed seed. Every expected number or text is PostgreSQL's
 * own ({@code extract(epoch ...)}, {@code AT TIME ZONE 'UTC'}); only the infinities of date and
 * timestamp, which have no epoch value, are the numbers Debezium 3.7 wrote in DebeziumSideBySideIT.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TemporalEnvelopeIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);
    private static final List<String> COLUMNS = List.of("d", "t0", "t3", "t4", "t6", "ts0", "ts3", "ts4", "ts6",
            "tz", "tz3", "ttz");
    /** Added to the snapshot rows' ids for the same values inserted again while the WAL streams. */
    private static final int STREAMED = 1000;

    private TestDatabase db;
    private EmbeddedConnectCluster connect;
    private final List<String[]> values = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("temporal_envelope");
        db.execute("CREATE TABLE tenv (id int PRIMARY KEY, d date, t0 time(0), t3 time(3), t4 time(4), t6 time,"
                + " ts0 timestamp(0), ts3 timestamp(3), ts4 timestamp(4), ts6 timestamp,"
                + " tz timestamptz, tz3 timestamptz(3), ttz timetz)");
        // date, time, timestamp, timestamptz, timetz
        values.add(new String[] {"-infinity", "00:00:00", "-infinity", "-infinity", "00:00:00+15:59"});
        values.add(new String[] {"infinity", "24:00:00", "infinity", "infinity", "24:00:00-15:59"});
        values.add(new String[] {"1969-12-31", "23:59:59.999999", "1969-12-31 23:59:59.999999",
                "1969-12-31 23:59:59.999999+00", "23:59:59.999999+05:30"});
        values.add(new String[] {"0001-01-01", "00:00:00.000001", "0001-01-01 00:00:00.000001",
                "0001-01-01 00:00:00.000001+00", "00:00:00.000001-03"});
        values.add(new String[] {"1970-01-01", "12:00:00.0005", "1970-01-01 00:00:00", "1970-01-01 00:00:00+00",
                "12:00:00.5+05:30:15"});
        values.add(new String[] {"1900-02-28", "01:02:03.4445", "1900-02-28 01:02:03.4445",
                "1900-02-28 01:02:03.4445-07:52:58", "01:02:03.4445+01"});
        long seed = System.nanoTime();
        System.out.println("TemporalEnvelopeIT seed " + seed);
        Random random = new Random(seed);
        for (int i = 0; i < 20; i++) {
            // Microseconds from about 1906 to 2033, either side of the epoch.
            long micros = (long) ((random.nextDouble() * 2 - 1) * 2e15);
            long ofDay = Math.floorMod(micros, 86_400_000_000L);
            int offsetMinutes = random.nextInt(2 * 14 * 60 + 1) - 14 * 60;
            String offset = String.format("%s%02d:%02d", offsetMinutes < 0 ? "-" : "+", Math.abs(offsetMinutes) / 60,
                    Math.abs(offsetMinutes) % 60);
            String instant = "timestamp '1970-01-01' + " + micros + " * interval '1 microsecond'";
            String time = "time '00:00' + " + ofDay + " * interval '1 microsecond'";
            values.add(new String[] {"(" + instant + ")::date", "(" + time + ")", "(" + instant + ")",
                    "((" + instant + ")::text || '" + offset + "')", "((" + time + ")::text || '" + offset + "')"});
        }
        for (int i = 0; i < values.size(); i++) {
            db.execute(insert(i + 1, values.get(i)));
        }
        connect = ConnectFixture.start("temporal-envelope");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    @Test
    void querySnapshotCarriesDebeziumsTemporals() throws Exception {
        Map<String, String> config = db.connectorConfig("tq", "public\\.tenv");
        config.put("record.format", "envelope");
        connect.configureConnector("tq", config);
        try {
            // Also the streamed rows when the wal test ran first.
            Map<Integer, JsonNode> after = read("tq.public.tenv", (int) db.queryLong("SELECT count(*) FROM tenv"));
            compare(expected(), after);
        } finally {
            connect.deleteConnector("tq");
        }
    }

    @Test
    void walSnapshotAndStreamCarryDebeziumsTemporals() throws Exception {
        String slot = WalFixture.uniqueName("temporal");
        try {
            Map<String, String> config = WalFixture.walConfig(db, "tw", "public\\.tenv", slot, "initial");
            config.put("record.format", "envelope");
            connect.configureConnector("tw", config);
            WalFixture.awaitStreaming(db, slot, TIMEOUT);
            // Through pgoutput's text form: the same values again, under other ids.
            for (int i = 0; i < values.size(); i++) {
                db.execute(insert(STREAMED + i + 1, values.get(i)));
            }
            Map<Integer, JsonNode> after = read("tw.public.tenv", 2 * values.size());
            compare(expected(), after);
            for (int id = 1; id <= values.size(); id++) {
                assertEquals(withoutId(after.get(id)), withoutId(after.get(STREAMED + id)),
                        "the streamed row " + (STREAMED + id) + " as its snapshot twin");
            }
        } finally {
            connect.deleteConnector("tw");
            WalFixture.dropSlotAndPublication(db, slot);
        }
    }

    private static JsonNode withoutId(JsonNode row) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = row.deepCopy();
        copy.remove("id");
        return copy;
    }

    private static String insert(int id, String[] v) {
        String date = literal(v[0]), time = literal(v[1]), ts = literal(v[2]), tz = literal(v[3]), ttz = literal(v[4]);
        return "INSERT INTO tenv VALUES (" + id + ", " + date + "::date, " + String.join(", ",
                java.util.Collections.nCopies(4, time + "::time")) + ", " + String.join(", ",
                java.util.Collections.nCopies(4, ts + "::timestamp")) + ", " + tz + "::timestamptz, " + tz
                + "::timestamptz, " + ttz + "::timetz)";
    }

    /** A plain value becomes a quoted literal; an expression (in parentheses) stays as it is. */
    private static String literal(String value) {
        return value.startsWith("(") ? value : "'" + value + "'";
    }

    private Map<Integer, JsonNode> read(String topic, int count) {
        Map<Integer, JsonNode> after = new HashMap<>();
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic))) {
            reader.readUntil(() -> after.size() >= count, TIMEOUT,
                    row -> after.put(row.key().get("id").asInt(), row.value().get("after")));
        }
        return after;
    }

    private static void compare(Map<Integer, Map<String, String>> expected, Map<Integer, JsonNode> after) {
        for (Map.Entry<Integer, JsonNode> event : after.entrySet()) {
            int id = event.getKey();
            Map<String, String> want = expected.get(id);
            for (String column : COLUMNS) {
                JsonNode got = event.getValue().get(column);
                assertEquals(want.get(column), got.isNull() ? null : got.asText(), "row " + id + " column " + column
                        + ", row " + event.getValue());
            }
        }
        assertEquals(expected.keySet(), after.keySet());
    }

    /** What a Debezium consumer reads for each row, from PostgreSQL's own arithmetic. */
    private Map<Integer, Map<String, String>> expected() throws Exception {
        String days = "CASE WHEN d = 'infinity' THEN '2146033979' WHEN d = '-infinity' THEN '-2147472691'"
                + " ELSE (d - date '1970-01-01')::text END";
        String sql = "SELECT id, " + days + " AS d, "
                + ms("t0") + " AS t0, " + ms("t3") + " AS t3, " + us("t4") + " AS t4, " + us("t6") + " AS t6, "
                + stamp("ts0", "1000", MILLIS_INFINITIES) + " AS ts0, " + stamp("ts3", "1000", MILLIS_INFINITIES)
                + " AS ts3, " + stamp("ts4", "1000000", MICROS_INFINITIES) + " AS ts4, "
                + stamp("ts6", "1000000", MICROS_INFINITIES) + " AS ts6, "
                + zoned("tz", ".US") + " AS tz, " + zoned("tz3", ".MS") + " AS tz3, "
                + "regexp_replace((ttz AT TIME ZONE 'UTC')::text, '\\+00$', 'Z') AS ttz FROM tenv";
        Map<Integer, Map<String, String>> rows = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            while (rs.next()) {
                Map<String, String> row = new HashMap<>();
                for (int i = 2; i <= meta.getColumnCount(); i++) {
                    row.put(meta.getColumnName(i), rs.getString(i));
                }
                rows.put(rs.getInt(1), row);
            }
        }
        return rows;
    }

    private static String ms(String column) {
        return "(extract(epoch FROM " + column + ") * 1000)::bigint::text";
    }

    private static String us(String column) {
        return "(extract(epoch FROM " + column + ") * 1000000)::bigint::text";
    }

    /** Debezium 3.7's values for +/-infinity (DebeziumSideBySideIT), which have no epoch value. */
    private static final String[] MILLIS_INFINITIES = {"9223372036825200000", "-9223372036832400000"};
    private static final String[] MICROS_INFINITIES = {"9223372036854775807", "-9223372036854775808"};

    /** Since the epoch in the unit; the infinities as Debezium writes them. */
    private static String stamp(String column, String perSecond, String[] infinities) {
        return "CASE WHEN " + column + " = 'infinity' THEN '" + infinities[0] + "' WHEN " + column
                + " = '-infinity' THEN '" + infinities[1] + "' ELSE (extract(epoch FROM " + column + ") * "
                + perSecond + ")::bigint::text END";
    }

    /** ISO 8601 in UTC with as many digits of fraction as the column's precision ({@code fraction}). */
    private static String zoned(String column, String fraction) {
        return "CASE WHEN isfinite(" + column + ") THEN to_char(" + column + " AT TIME ZONE 'UTC',"
                + " 'YYYY-MM-DD\"T\"HH24:MI:SS" + fraction + "') || 'Z' ELSE " + column + "::text END";
    }
}
