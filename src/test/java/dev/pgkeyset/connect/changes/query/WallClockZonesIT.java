package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TimeZone;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The change phase with the worker JVM and the database in different time zones (some with
 * daylight saving) and under {@code repeatable read} as the database's default isolation: a
 * snapshot, a row committed late by a long transaction, and quick rows meanwhile must all arrive,
 * for a {@code timestamp} (without time zone) clock column and for a sequence column. Writers run
 * in the database's zone, as a session that does not set its own gets it. One row of the matrix
 * is drawn at random: replay it with {@code -Dzones.seed=<seed>}.
 */
class WallClockZonesIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(45);
    private static final String[] ZONES = {"UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin",
        "Australia/Lord_Howe", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"};

    private TestDatabase db;
    private TimeZone jvmZoneBefore;

    static Stream<Arguments> settings() {
        long seed = Long.getLong("zones.seed", System.nanoTime());
        Random random = new Random(seed);
        String dbZone = ZONES[random.nextInt(ZONES.length)];
        String jvmZone = ZONES[random.nextInt(ZONES.length)];
        String isolation = random.nextBoolean() ? "repeatable read" : "read committed";
        System.out.println("WallClockZonesIT random row: -Dzones.seed=" + seed + " -> database " + dbZone + ", JVM "
                + jvmZone + ", " + isolation);
        return Stream.of(
                Arguments.of("America/New_York", "UTC", "read committed"),
                Arguments.of("UTC", "America/New_York", "read committed"),
                Arguments.of("America/New_York", "Asia/Tokyo", "read committed"),
                Arguments.of("Europe/Berlin", "America/Los_Angeles", "repeatable read"),
                Arguments.of(dbZone, jvmZone, isolation));
    }

    @BeforeEach
    void setUp() {
        jvmZoneBefore = TimeZone.getDefault();
        db = PostgresFixture.createDatabase("wall_clock_zones");
    }

    @AfterEach
    void tearDown() {
        TimeZone.setDefault(jvmZoneBefore);
        db.close();
    }

    private void configure(String dbZone, String jvmZone, String isolation) {
        db.execute("ALTER DATABASE " + db.name() + " SET timezone = '" + dbZone + "'",
                "ALTER DATABASE " + db.name() + " SET default_transaction_isolation = '" + isolation + "'");
        TimeZone.setDefault(TimeZone.getTimeZone(jvmZone));
    }

    /** A writer session in the database's zone (pgjdbc would otherwise send the JVM's). */
    private Connection writer(String dbZone) throws Exception {
        Connection c = db.connect();
        try (Statement st = c.createStatement()) {
            st.execute("SET TimeZone = '" + dbZone + "'");
        }
        return c;
    }

    private Set<Long> keys(String table) throws Exception {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM " + table + " ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    @ParameterizedTest(name = "timestamp column: database {0}, JVM {1}, {2}")
    @MethodSource("settings")
    void everyChangeOfATimestampColumnArrives(String dbZone, String jvmZone, String isolation) throws Exception {
        configure(dbZone, jvmZone, isolation);
        try (Connection w = writer(dbZone); Statement st = w.createStatement()) {
            st.execute("CREATE TABLE ev (id bigint PRIMARY KEY, note text, updated_at timestamp NOT NULL DEFAULT now())");
            st.execute("CREATE INDEX ON ev (updated_at, id)");
            st.execute("INSERT INTO ev SELECT g, 'old', now() - interval '1 day' FROM generate_series(1001, 1005) g");
        }
        Map<String, String> props = db.connectorConfig("c", "public\\.ev");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        lateCommitArrives(props, dbZone, "ev");
    }

    @ParameterizedTest(name = "sequence column: database {0}, JVM {1}, {2}")
    @MethodSource("settings")
    void everyChangeOfASequenceColumnArrives(String dbZone, String jvmZone, String isolation) throws Exception {
        configure(dbZone, jvmZone, isolation);
        db.execute("CREATE SEQUENCE v_seq",
                "CREATE TABLE sv (id bigint PRIMARY KEY, note text, version bigint NOT NULL DEFAULT nextval('v_seq'))",
                "CREATE INDEX ON sv (version, id)",
                "INSERT INTO sv (id, note) SELECT g, 'old' FROM generate_series(1001, 1005) g");
        Map<String, String> props = db.connectorConfig("c", "public\\.sv");
        props.put("snapshot.mode", "initial");
        props.put("incremental.columns", "public.sv:version");
        props.put("poll.interval.ms", "50");
        lateCommitArrives(props, dbZone, "sv");
    }

    /** 5 snapshot rows, then row 0 taken first and committed last while rows 1..10 commit: all arrive. */
    private void lateCommitArrives(Map<String, String> props, String dbZone, String table) throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection longTx = writer(dbZone)) {
            Polls.until(harness, records, TIMEOUT, () -> records.size() >= 5);
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("INSERT INTO " + table + " (id, note) VALUES (0, 'late')");
            }
            try (Connection quick = writer(dbZone); Statement st = quick.createStatement()) {
                for (int i = 1; i <= 10; i++) {
                    st.execute("INSERT INTO " + table + " (id, note) VALUES (" + i + ", 'quick')");
                    List<SourceRecord> batch = harness.poll();
                    if (batch != null) {
                        records.addAll(batch);
                    }
                }
            }
            longTx.commit();
            Set<Long> expected = keys(table);
            try {
                Polls.until(harness, records, TIMEOUT,
                        () -> records.stream().map(Polls::id).collect(Collectors.toSet()).containsAll(expected));
            } finally {
                long changes = records.stream().filter(r -> Polls.op(r).equals("u")).map(Polls::id)
                        .filter(id -> id <= 10).distinct().count();
                System.out.println(table + ": " + changes + " of 11 changes delivered");
            }
            Polls.during(harness, records, Duration.ofMillis(300));
            assertEquals(expected, records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new)));
            List<Long> changes = records.stream().filter(r -> Polls.op(r).equals("u")).map(Polls::id)
                    .filter(id -> id <= 10).sorted().toList();
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), changes, "each change once");
        }
    }
}
