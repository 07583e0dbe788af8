package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Special values never stop a table, and keys of every temporal shape resume exactly: the task is
 * restarted after every single row, so each resume goes through the offset's text form.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpecialValuesIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("special_values");
        db.execute("CREATE TABLE moments (at timestamptz PRIMARY KEY, day date NOT NULL, n numeric(8,2))",
                "INSERT INTO moments VALUES"
                        + " ('-infinity', '-infinity', 'NaN'),"
                        + " ('0045-03-15 12:00:00.000001+00 BC', '0045-03-15 BC', 1),"
                        + " ('1969-12-31 23:59:59.999999+00', '1969-12-31', 2),"
                        + " ('2024-05-01 10:00:00.000001+00', '2024-05-01', 3),"
                        + " ('2024-05-01 10:00:00.000002+00', '2024-05-01', 'NaN'),"
                        + " ('infinity', 'infinity', NULL)",
                "CREATE TABLE days (day date PRIMARY KEY)",
                // A composite key whose parts differ only in the last character, under an ICU
                // collation (accents, case), in the last uuid digit and in the last decimal digit.
                "CREATE TABLE keyed (t text COLLATE \"de-x-icu\", u uuid, n numeric, PRIMARY KEY (t, u, n))",
                "INSERT INTO keyed SELECT t, u::uuid, n::numeric FROM"
                        + " unnest(ARRAY['a', 'A', 'ä', 'Ä', 'b', 'ab', 'a b', 'Ab']) t,"
                        + " unnest(ARRAY['00000000-0000-0000-0000-000000000001',"
                        + " '00000000-0000-0000-0000-000000000002']) u,"
                        + " unnest(ARRAY['1.0000000000000000000000000001', '1.0000000000000000000000000002', '1',"
                        + " '-0.5']) n",
                "INSERT INTO days VALUES ('-infinity'), ('4713-01-01 BC'), ('0001-12-31 BC'), ('0001-01-01'),"
                        + " ('2000-02-29'), ('294276-12-31'), ('infinity')");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    /** Reads a table one row per task, restarting the task after each, as a crash after every row would. */
    private List<SourceRecord> readOneRowPerRestart(String include, Map<String, String> extra) throws Exception {
        Map<String, String> props = db.connectorConfig("s", include);
        props.put("batch.max.rows", "1");
        props.put("poll.interval.ms", "10");
        props.putAll(extra);
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            for (int i = 0; i < 100; i++) {
                List<SourceRecord> batch = harness.poll();
                if (batch == null) {
                    break;
                }
                records.addAll(batch);
                harness.stop();
                harness.start();
            }
        }
        return records;
    }

    @Test
    void timestampKeysAMicrosecondApartResumeBetweenThem() throws Exception {
        List<SourceRecord> records = readOneRowPerRestart("public\\.moments", Map.of("time.precision.mode", "micros"));
        List<Long> expected = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT CASE WHEN at = 'infinity' THEN 9223372036854775807 WHEN at = '-infinity'"
                        + " THEN -9223372036854775808 ELSE (extract(epoch FROM at) * 1000000)::bigint END"
                        + " FROM moments ORDER BY at")) {
            while (rs.next()) {
                expected.add(rs.getLong(1));
            }
        }
        assertEquals(expected, records.stream().map(r -> ((Struct) r.key()).getInt64("at")).toList(),
                "every key once, in order, to the microsecond, BC and infinities included");
        Struct nan = (Struct) records.get(0).value();
        assertNull(nan.get("n"), "NaN has no Decimal form: null");
        assertNull(((Struct) records.get(4).value()).get("n"), "NaN again: null");
        assertEquals(new java.math.BigDecimal("3.00"), ((Struct) records.get(3).value()).get("n"));
    }

    @Test
    void dateKeysFromBeforeChristToInfinityResume() throws Exception {
        List<SourceRecord> records = readOneRowPerRestart("public\\.days", Map.of());
        List<String> keys = records.stream().map(r -> r.sourceOffset().get("key").toString()).toList();
        assertEquals(List.of("[\"-infinity\"]", "[\"4713-01-01 BC\"]", "[\"0001-12-31 BC\"]", "[\"0001-01-01\"]",
                "[\"2000-02-29\"]", "[\"294276-12-31\"]", "[\"infinity\"]"), keys);
    }

    @Test
    void compositeKeysOfTextUuidAndNumericResumeBetweenNeighbours() throws Exception {
        List<SourceRecord> records = readOneRowPerRestart("public\\.keyed", Map.of());
        List<String> expected = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT t, u::text, n::text FROM keyed ORDER BY t, u, n")) {
            while (rs.next()) {
                expected.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3));
            }
        }
        assertEquals(64, expected.size());
        assertEquals(expected, records.stream().map(r -> {
            Struct key = (Struct) r.key();
            return key.getString("t") + "|" + key.getString("u") + "|" + key.getString("n");
        }).toList(), "every key once, in the collation's order, resumed after each row");
    }
}
