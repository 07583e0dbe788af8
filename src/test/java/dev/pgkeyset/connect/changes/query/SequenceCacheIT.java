package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The sequence horizon assumes CACHE 1. With CACHE 10 session A holds a block of values; its next
 * transaction, started after the position passed session B's larger value, commits below it
 * (found by an adversarial review: validate() accepted it, row 3 with version 2 was lost). Now a
 * cached sequence behind the column, however it is linked (nextval default, serial, identity), is
 * refused at validate() and at start, naming the sequence; with CACHE 1 the same sessions lose
 * nothing. The oracle for the link and the cache is pg_sequences / pg_get_serial_sequence.
 */
class SequenceCacheIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("seq_cache");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private static Map<String, String> config(TestDatabase db) {
        Map<String, String> props = db.connectorConfig("c", "public\\.sv");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.sv:version");
        props.put("poll.interval.ms", "50");
        return props;
    }

    private static List<String> validationErrors(Map<String, String> props) {
        return new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
    }

    /** The column's sequence as PostgreSQL names it: owned (serial, identity) or the default's nextval. */
    private String sequenceName() {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT coalesce(pg_get_serial_sequence('public.sv', 'version'), 'public.v_seq')")) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"DEFAULT nextval('v_seq')", "GENERATED ALWAYS AS IDENTITY (CACHE 10)", "serial"})
    void aCachedSequenceIsRefusedNamingIt(String filling) throws Exception {
        if (filling.startsWith("DEFAULT")) {
            db.execute("CREATE SEQUENCE v_seq CACHE 10");
        }
        String type = filling.equals("serial") ? "bigserial" : "bigint NOT NULL " + filling;
        db.execute("CREATE TABLE sv (id bigint PRIMARY KEY, version " + type + ")", "CREATE INDEX ON sv (version, id)");
        String sequence = sequenceName();
        if (filling.equals("serial")) {
            db.execute("ALTER SEQUENCE " + sequence + " CACHE 10");
        }
        assertEquals(10, db.queryLong("SELECT cache_size FROM pg_sequences WHERE (schemaname || '.' || sequencename)"
                + "::regclass = '" + sequence + "'::regclass"));
        Map<String, String> props = config(db);
        List<String> errors = validationErrors(props);
        System.out.println("SequenceCacheIT (" + filling + "): validate errors " + errors);
        String bare = sequence.substring(sequence.indexOf('.') + 1);
        assertTrue(errors.stream().anyMatch(e -> e.contains(bare) && e.contains("CACHE 1") && e.contains("version")),
                "validate() names the sequence and the remedy: " + errors);
        Exception atStart = assertThrows(Exception.class, () -> new TaskHarness(props).start().close());
        assertTrue(SubscriberTablesIT.messages(atStart).contains("CACHE 1"), SubscriberTablesIT.messages(atStart));
    }

    @Test
    void withCacheOneTheSameSessionsLoseNothing() throws Exception {
        db.execute("CREATE SEQUENCE v_seq CACHE 1",
                "CREATE TABLE sv (id bigint PRIMARY KEY, version bigint NOT NULL DEFAULT nextval('v_seq'))",
                "CREATE INDEX ON sv (version, id)");
        Map<String, String> props = config(db);
        assertEquals(List.of(), validationErrors(props));
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection a = db.connect();
             Connection b = db.connect(); Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            sa.execute("INSERT INTO sv (id) VALUES (1)");
            sb.execute("INSERT INTO sv (id) VALUES (2)");
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 2);
            sa.execute("INSERT INTO sv (id) VALUES (3)");
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 3);
            Polls.during(harness, records, Duration.ofSeconds(2));
        }
        Set<Long> expected = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM sv ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getLong(1));
            }
        }
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        System.out.println("SequenceCacheIT: table has " + expected + "; delivered " + delivered);
        assertEquals(expected, delivered, "every committed row arrives");
    }
}
