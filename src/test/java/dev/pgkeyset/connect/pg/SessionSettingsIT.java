package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Every setting an output function (or the parsing of our binds) depends on, at its most hostile
 * value on the database and on the connector's role, and a rollback on a live connection in the
 * middle (a terminated backend, then a statement timeout on the new connection's first cursor):
 * every value must still be what PostgreSQL computes in a session whose settings the test fixes.
 */
class SessionSettingsIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int ROWS = 6;

    /** Hostile values for the database; the role's are harsher still where a setting allows it. */
    private static final Map<String, String> DATABASE_HOSTILE = new LinkedHashMap<>();
    private static final Map<String, String> ROLE_HOSTILE = new LinkedHashMap<>();

    static {
        DATABASE_HOSTILE.put("extra_float_digits", "0");
        DATABASE_HOSTILE.put("IntervalStyle", "sql_standard");
        DATABASE_HOSTILE.put("bytea_output", "escape");
        DATABASE_HOSTILE.put("DateStyle", "'SQL, DMY'");
        DATABASE_HOSTILE.put("standard_conforming_strings", "off");
        DATABASE_HOSTILE.put("quote_all_identifiers", "on");
        DATABASE_HOSTILE.put("xmloption", "document");
        DATABASE_HOSTILE.put("array_nulls", "off");
        DATABASE_HOSTILE.put("default_transaction_isolation", "'repeatable read'");
        DATABASE_HOSTILE.put("default_transaction_read_only", "on");
        // Not pinned by us: pgjdbc's startup TimeZone (the JVM's) outranks it; shown harmless here.
        DATABASE_HOSTILE.put("TimeZone", "'Pacific/Chatham'");
        ROLE_HOSTILE.putAll(DATABASE_HOSTILE);
        ROLE_HOSTILE.put("extra_float_digits", "-15");
        ROLE_HOSTILE.put("IntervalStyle", "postgres_verbose");
        ROLE_HOSTILE.put("DateStyle", "'German, DMY'");
        ROLE_HOSTILE.put("default_transaction_isolation", "serializable");
        ROLE_HOSTILE.put("TimeZone", "'Asia/Kathmandu'");
    }

    /** Column → the JSON the record must hold, computed by PostgreSQL under fixed settings. */
    private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("d", "to_jsonb(d)");
        EXPECTED.put("f8", "to_jsonb(f8)");
        EXPECTED.put("f4", "to_jsonb(f4)");
        EXPECTED.put("pt", "to_jsonb(pt::text)");
        EXPECTED.put("comp", "to_jsonb(comp::text)");
        EXPECTED.put("iv", "to_jsonb(iv::text)");
        EXPECTED.put("iv2", "to_jsonb(iv2::text)");
        EXPECTED.put("aiv", "to_jsonb(aiv::text[])");
        EXPECTED.put("ab", "CASE WHEN ab IS NULL THEN 'null'::jsonb ELSE (SELECT jsonb_agg(CASE WHEN e IS NULL"
                + " THEN 'null'::jsonb ELSE to_jsonb(translate(encode(e, 'base64'), E'\\n', '')) END ORDER BY o)"
                + " FROM unnest(ab) WITH ORDINALITY u(e, o)) END");
        EXPECTED.put("at", "to_jsonb(at)");
        EXPECTED.put("x", "to_jsonb(x::text)");
        EXPECTED.put("ts", "to_jsonb(floor(extract(epoch FROM ts) * 1000)::bigint)");
        EXPECTED.put("atz", "(SELECT jsonb_agg(to_jsonb(floor(extract(epoch FROM e) * 1000)::bigint) ORDER BY o)"
                + " FROM unnest(atz) WITH ORDINALITY u(e, o))");
    }

    /** The fixed settings of the session that computes the expectations: PostgreSQL's defaults. */
    private static final String[] KNOWN_SETTINGS = {"SET extra_float_digits = 1", "SET IntervalStyle = 'iso_8601'",
        "SET bytea_output = 'hex'", "SET DateStyle = 'ISO, MDY'", "SET standard_conforming_strings = on",
        "SET quote_all_identifiers = off", "SET xmloption = content", "SET array_nulls = on"};

    private TestDatabase db;
    private String role;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("session_settings");
        role = "pgk_settings_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        db.execute("CREATE TYPE pair AS (f float8, t text)",
                "CREATE TABLE t (id int PRIMARY KEY, d float8, f8 float8[], f4 float4[], pt point, comp pair,"
                        + " iv interval, iv2 interval, aiv interval[], ab bytea[], at text[], x xml, ts timestamp,"
                        + " atz timestamptz[])",
                "INSERT INTO t SELECT g, 1.0000000000000002, '{1.0000000000000002,0.1,-1e-300}',"
                        + " '{3.4028235e38,0.1,1.1754944e-38}', point(0.1, 1.0000000000000002),"
                        + " ROW(0.1::float8 + 0.2, 'a'::text)::pair, '1 year 2 months 3 days 04:05:06.000007',"
                        + " '-1 days +02:00:00.5', '{\"1 day\",\"-1 mon 2 hours\"}', ARRAY['\\x00ff5c27'::bytea, NULL],"
                        + " ARRAY['NULL', NULL, 'a\\b'], 'text <a/> text', '2024-05-01 10:00:00.123456',"
                        + " '{\"2024-05-01 10:00:00.5+05:45\",\"1900-01-01 00:00:00+00\"}'"
                        + " FROM generate_series(1, " + ROWS + ") g",
                "CREATE ROLE " + role + " LOGIN",
                "GRANT USAGE ON SCHEMA public TO " + role,
                "GRANT SELECT ON t TO " + role,
                // The mechanism of the rollback (a cursor that waits for a lock past it), not a hostile value.
                "ALTER ROLE " + role + " SET statement_timeout = '1500ms'");
        DATABASE_HOSTILE.forEach((name, value) -> db.execute("SET default_transaction_read_only = off",
                "ALTER DATABASE " + db.name() + " SET " + name + " = " + value));
    }

    @AfterEach
    void tearDown() {
        try {
            db.close();
        } finally {
            try (Connection admin = java.sql.DriverManager.getConnection(
                    PostgresFixture.server().jdbcUrl("postgres"), PostgresFixture.server().user(),
                    PostgresFixture.server().password()); Statement st = admin.createStatement()) {
                st.execute("DROP ROLE IF EXISTS " + role);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private void hostileRole() {
        // The database's own default_transaction_read_only=on would refuse ALTER ROLE.
        ROLE_HOSTILE.forEach((name, value) -> db.execute("SET default_transaction_read_only = off",
                "ALTER ROLE " + role + " SET " + name + " = " + value));
    }

    private Map<String, String> props() {
        Map<String, String> props = db.connectorConfig("s", "public\\.t");
        props.put("connection.user", role);
        props.remove("connection.password");
        props.put("batch.max.rows", "1");
        props.put("fetch.size", "1");
        props.put("retry.backoff.ms", "10");
        props.put("retry.backoff.max.ms", "100");
        props.put("connection.attempts", "100");
        return props;
    }

    @Test
    void valuesSurviveARollbackUnderHostileDatabaseDefaults() throws Exception {
        readThroughARollbackAndCompare();
    }

    @Test
    void valuesSurviveARollbackUnderHostileRoleDefaults() throws Exception {
        hostileRole();
        readThroughARollbackAndCompare();
    }

    @Test
    void connectorSessionsRunWithPinnedSettings() throws Exception {
        hostileRole();
        PgKeysetConfig config = new PgKeysetConfig(props());
        try (ConnectionFactory pool = ConnectionFactory.forTask(config, "settings-test", 1);
             Connection pooled = pool.open()) {
            assertPinned(pooled);
            pooled.rollback();
        }
        try (Connection once = ConnectionFactory.openOnce(config, 5)) {
            assertPinned(once);
        }
    }

    @Test
    void aUsersOwnOptionsAreKeptAndCannotUnpinOurs() throws Exception {
        Map<String, String> props = props();
        props.put("connection.url", db.jdbcUrl()
                + "?options=-c%20statement_timeout%3D4321%20-c%20IntervalStyle%3Dpostgres%20-c%20work_mem%3D5MB");
        PgKeysetConfig config = new PgKeysetConfig(props);
        try (ConnectionFactory pool = ConnectionFactory.forTask(config, "settings-test", 1);
             Connection pooled = pool.open()) {
            assertEquals("4321ms", show(pooled, "statement_timeout"));
            assertEquals("5MB", show(pooled, "work_mem"));
            assertPinned(pooled);
            pooled.rollback();
        }
        try (Connection once = ConnectionFactory.openOnce(config, 5)) {
            assertEquals("4321ms", show(once, "statement_timeout"));
            assertPinned(once);
        }
    }

    private static void assertPinned(Connection connection) throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("transaction_isolation", "read committed");
        expected.put("extra_float_digits", "1");
        expected.put("IntervalStyle", "iso_8601");
        expected.put("bytea_output", "hex");
        expected.put("DateStyle", "ISO, MDY");
        expected.put("standard_conforming_strings", "on");
        expected.put("quote_all_identifiers", "off");
        expected.put("xmloption", "content");
        expected.put("array_nulls", "on");
        expected.put("transaction_read_only", "on");
        Map<String, String> actual = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            actual.put(name, show(connection, name));
        }
        assertEquals(expected, actual);
        connection.rollback();
        // And still after a rollback of the session's first transaction.
        actual.clear();
        for (String name : expected.keySet()) {
            actual.put(name, show(connection, name));
        }
        assertEquals(expected, actual, "after a rollback");
    }

    private static String show(Connection connection, String setting) throws Exception {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private void readThroughARollbackAndCompare() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props()).start(); Connection locker = db.connect()) {
            pollUntil(harness, records, () -> !records.isEmpty());
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'");
            locker.setAutoCommit(false);
            try (Statement st = locker.createStatement()) {
                st.execute("SET lock_timeout = '10s'");
                st.execute("SET statement_timeout = 0");
                st.execute("SET default_transaction_read_only = off");
                st.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
            }
            // The cursor's connection is gone; the next one's first cursor waits for the lock
            // past the role's statement timeout and is rolled back, perhaps more than once.
            long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            while (System.nanoTime() < until) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            locker.commit();
            pollUntil(harness, records, () -> ids(records).size() == ROWS);
        }
        compare(records);
    }

    private void compare(List<SourceRecord> records) throws Exception {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false"), false);
        ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        Map<Integer, JsonNode> expected = new HashMap<>();
        StringBuilder select = new StringBuilder("SELECT id");
        EXPECTED.values().forEach(e -> select.append(", (").append(e).append(")::text"));
        select.append(" FROM t ORDER BY id");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (String set : KNOWN_SETTINGS) {
                st.execute(set);
            }
            try (ResultSet rs = st.executeQuery(select.toString())) {
                while (rs.next()) {
                    com.fasterxml.jackson.databind.node.ObjectNode row = json.createObjectNode();
                    int i = 2;
                    for (String column : EXPECTED.keySet()) {
                        String text = rs.getString(i++);
                        row.set(column, text == null ? json.nullNode() : json.readTree(text));
                    }
                    expected.put(rs.getInt(1), row);
                }
            }
        }
        List<String> mismatches = new ArrayList<>();
        for (SourceRecord record : records) {
            int id = ((Struct) record.key()).getInt32("id");
            JsonNode actual = json.readTree(converter.fromConnectData("t", record.valueSchema(), record.value()));
            for (String column : EXPECTED.keySet()) {
                JsonNode want = expected.get(id).get(column);
                JsonNode got = actual.get(column);
                boolean same = column.equals("f4") ? sameFloats(want, got)
                        : sameJson(want, got == null ? json.nullNode() : got);
                if (!same) {
                    mismatches.add(String.format(Locale.ROOT, "row %d column %s: expected %s but was %s", id, column,
                            want, got));
                }
            }
        }
        assertTrue(mismatches.isEmpty(), mismatches.size() + " mismatches in " + records.size() + " records:\n"
                + String.join("\n", mismatches));
        assertEquals(ROWS, ids(records).size());
    }

    /**
     * float4 elements compare as floats: Java 17 writes Float.MIN_NORMAL as 1.17549435E-38, which is
     * the same float as PostgreSQL's shortest 1.1754944e-38; 3.40282e+38 (extra_float_digits=0) is not.
     */
    private static boolean sameFloats(JsonNode expected, JsonNode actual) {
        if (actual == null || !actual.isArray() || expected.size() != actual.size()) {
            return false;
        }
        for (int i = 0; i < expected.size(); i++) {
            if (Float.parseFloat(expected.get(i).asText()) != Float.parseFloat(actual.get(i).asText())) {
                return false;
            }
        }
        return true;
    }

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

    private static TreeSet<Integer> ids(List<SourceRecord> records) {
        TreeSet<Integer> ids = new TreeSet<>();
        records.forEach(r -> ids.add(((Struct) r.key()).getInt32("id")));
        return ids;
    }

    private static void pollUntil(TaskHarness harness, List<SourceRecord> into, java.util.function.BooleanSupplier done)
            throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; records so far: " + into.size());
            }
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
    }
}
