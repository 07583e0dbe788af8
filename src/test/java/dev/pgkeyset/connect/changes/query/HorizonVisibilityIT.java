package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * What the horizon can see of other sessions' transactions, and what it does when it cannot: a
 * NOINHERIT member of pg_read_all_stats, a REVOKE while running, a writer with track_activities
 * off, a writer naming itself like the connector, and the connector's own cursors under a custom
 * ApplicationName. Each writer takes its tracking value first and commits last; the oracle is
 * PostgreSQL's own list of keys.
 */
class HorizonVisibilityIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestDatabase db;
    private final List<String> roles = new ArrayList<>();

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("horizon_visibility");
        db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, note text,"
                        + " updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON orders (updated_at, id)");
    }

    @AfterEach
    void tearDown() {
        for (String role : roles) {
            db.execute("DROP OWNED BY " + role);
        }
        db.close();
        for (String role : roles) {
            try (Connection admin = DriverManager.getConnection(db.jdbcUrl().replace(db.name(), "postgres"),
                    credentials(db.user())); Statement st = admin.createStatement()) {
                st.execute("DROP ROLE IF EXISTS " + role);
            } catch (Exception e) {
                throw new IllegalStateException("could not drop role " + role, e);
            }
        }
    }

    private static Properties credentials(String user) {
        Properties props = new Properties();
        props.setProperty("user", user);
        return props;
    }

    /** A login role of this test's own (dropped after), allowed to read the table. */
    private String role(String attributes) {
        String name = "pgkeyset_hv_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        roles.add(name);
        db.execute("CREATE ROLE " + name + " LOGIN " + attributes, "GRANT SELECT ON orders TO " + name);
        return name;
    }

    private Map<String, String> props() {
        Map<String, String> props = db.connectorConfig("c", "public\\.orders");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        return props;
    }

    private Set<Long> keysInTable() {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM orders ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return keys;
    }

    /**
     * The writer inserts row 0 (its tracking value: its transaction's start) and holds its
     * transaction open while 100 quick rows commit; then it commits. Returns the keys delivered
     * while it was open; afterwards every key of the table must arrive.
     */
    private List<SourceRecord> lateCommit(TaskHarness harness, Connection writer, List<SourceRecord> records)
            throws Exception {
        writer.setAutoCommit(false);
        try (Statement st = writer.createStatement()) {
            st.execute("INSERT INTO orders (id, note) VALUES (0, 'late')");
        }
        for (int i = 1; i <= 100; i++) {
            db.execute("INSERT INTO orders (id, note) VALUES (" + i + ", 'quick')");
            List<SourceRecord> batch = harness.poll();
            if (batch != null) {
                records.addAll(batch);
            }
        }
        Polls.during(harness, records, Duration.ofSeconds(2));
        List<SourceRecord> whileOpen = List.copyOf(records);
        writer.commit();
        Set<Long> expected = keysInTable();
        Polls.until(harness, records, TIMEOUT,
                () -> records.stream().map(Polls::id).collect(Collectors.toSet()).containsAll(expected));
        return whileOpen;
    }

    @Test
    void aNoinheritMemberOfPgReadAllStatsIsRefusedAtValidateAndStart() {
        String role = role("NOINHERIT");
        db.execute("GRANT pg_read_all_stats TO " + role);
        Map<String, String> props = props();
        props.put("connection.user", role);
        List<String> errors = new PgKeysetSourceConnector().validate(props).configValues().stream()
                .filter(v -> v.name().equals("connection.user")).map(ConfigValue::errorMessages)
                .findFirst().orElseThrow();
        assertTrue(errors.stream().anyMatch(m -> m.contains("pg_read_all_stats")), "validate: " + errors);
        ConnectException e = org.junit.jupiter.api.Assertions.assertThrows(ConnectException.class,
                () -> new TaskHarness(props).start());
        assertTrue(e.getMessage().contains("pg_read_all_stats") && e.getMessage().contains("INHERIT"),
                e.getMessage());
    }

    @Test
    void aRevokeWhileRunningStopsTheTaskInsteadOfLosingALateRow() throws Exception {
        String role = role("");
        db.execute("GRANT pg_read_all_stats TO " + role);
        Map<String, String> props = props();
        props.put("connection.user", role);
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection writer = db.connect()) {
            harness.poll();
            db.execute("REVOKE pg_read_all_stats FROM " + role);
            try {
                lateCommit(harness, writer, records);
                fail("the task went on after losing sight of other users' transactions; delivered "
                        + records.size() + " rows, row 0 " + (records.stream().anyMatch(r -> Polls.id(r) == 0)
                        ? "arrived" : "lost"));
            } catch (ConnectException e) {
                assertTrue(e.getMessage().contains("pg_read_all_stats"), e.getMessage());
                System.out.println("revoke noticed after " + records.size() + " rows: " + e.getMessage());
                assertEquals(0, records.size(), "nothing passed the open transaction before the task stopped");
            }
        }
    }

    @Test
    void aWriterWithTrackActivitiesOffHoldsTheHorizon() throws Exception {
        try (TaskHarness harness = new TaskHarness(props()).start(); Connection writer = db.connect()) {
            try (Statement st = writer.createStatement()) {
                st.execute("SET track_activities = off"); // allowed to superusers, per session
            }
            List<SourceRecord> records = new ArrayList<>();
            harness.poll();
            List<SourceRecord> whileOpen = lateCommit(harness, writer, records);
            System.out.println("track_activities=off writer: " + whileOpen.size() + " rows passed it while open");
            assertEquals(0, whileOpen.size(), "nothing passes a transaction the horizon cannot date");
            assertEquals(0L, Polls.id(records.get(0)), "the late row first, in tracking order");
            assertEquals(101, records.size(), "each row once");
        }
    }

    @Test
    void aDatabaseWithTrackActivitiesOffIsRefused() {
        db.execute("ALTER DATABASE " + db.name() + " SET track_activities = off");
        List<String> errors = new PgKeysetSourceConnector().validate(props()).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
        assertTrue(errors.stream().anyMatch(m -> m.contains("track_activities")), "validate: " + errors);
        ConnectException e = org.junit.jupiter.api.Assertions.assertThrows(ConnectException.class,
                () -> new TaskHarness(props()).start());
        assertTrue(e.getMessage().contains("track_activities"), e.getMessage());
    }

    @Test
    void aWriterNamedLikeTheConnectorHoldsTheHorizon() throws Exception {
        Properties as = credentials(db.user());
        as.setProperty("ApplicationName", "kafka-connect-pg-keyset-x");
        try (TaskHarness harness = new TaskHarness(props()).start();
             Connection writer = DriverManager.getConnection(db.jdbcUrl(), as)) {
            List<SourceRecord> records = new ArrayList<>();
            harness.poll();
            List<SourceRecord> whileOpen = lateCommit(harness, writer, records);
            System.out.println("writer named kafka-connect-pg-keyset-x: " + whileOpen.size()
                    + " rows passed it while open");
            assertEquals(0, whileOpen.size(), "nothing passes the open transaction, whatever its name");
            assertEquals(101, records.size(), "each row once");
        }
    }

    /**
     * A timestamp (without time zone) column needs the writers' zone. A role that cannot read the
     * server's configuration, in a database without a timezone setting, is refused with the
     * remedy; with the database's setting it is accepted.
     */
    @Test
    void aTimestampColumnIsRefusedWhenTheWritersZoneCannotBeKnown() {
        db.execute("ALTER DATABASE " + db.name() + " RESET timezone",
                "CREATE TABLE wall (id bigint PRIMARY KEY, updated_at timestamp NOT NULL DEFAULT now())");
        String role = role("");
        db.execute("GRANT pg_read_all_stats TO " + role, "GRANT SELECT ON wall TO " + role);
        Map<String, String> props = db.connectorConfig("c", "public\\.wall");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("connection.user", role);
        List<String> errors = new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
        assertTrue(errors.stream().anyMatch(m -> m.contains("public.wall") && m.contains("ALTER DATABASE")
                && m.contains("SET timezone")), "validate: " + errors);
        ConnectException e = org.junit.jupiter.api.Assertions.assertThrows(ConnectException.class,
                () -> new TaskHarness(props).start());
        assertTrue(e.getMessage().contains("SET timezone"), e.getMessage());

        db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'Europe/Paris'");
        assertEquals(List.of(), new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList());
    }

    /**
     * Two tables in one task: while the big one's snapshot cursor stays open (its transaction has
     * an xact_start), the small one's changes flow; a URL naming the sessions 'custom' must not
     * make the connector's own cursor a writer.
     */
    @Test
    void theConnectorsOwnSnapshotCursorDoesNotHoldBackAnotherTableUnderACustomApplicationName()
            throws Exception {
        db.execute("CREATE TABLE alpha (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON alpha (updated_at, id)",
                "INSERT INTO alpha SELECT g, now() - interval '1 hour' FROM generate_series(1, 1000) g",
                "ANALYZE alpha",
                // Not analysed: estimated smaller than alpha, so alpha is read first in each poll.
                "CREATE TABLE zulu (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())"
                        + " WITH (autovacuum_enabled = false)",
                "CREATE INDEX ON zulu (updated_at, id)",
                "INSERT INTO zulu SELECT g, now() - interval '1 hour' FROM generate_series(1, 200000) g");
        Map<String, String> props = db.connectorConfig("c", "public\\.(alpha|zulu)");
        props.put("connection.url", db.jdbcUrl() + "?ApplicationName=custom");
        props.put("snapshot.mode", "initial");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        props.put("batch.max.rows", "20");
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            Polls.until(harness, records, TIMEOUT, () -> records.stream().anyMatch(r -> r.topic().equals("c.public.zulu")));
            db.execute("INSERT INTO alpha (id) VALUES (5001)");
            Polls.until(harness, records, TIMEOUT, () -> records.stream().anyMatch(r ->
                    r.topic().equals("c.public.alpha") && Polls.id(r) == 5001));
            long zuluBefore = records.stream().filter(r -> r.topic().equals("c.public.zulu")).count();
            boolean zuluDone = records.stream().anyMatch(r -> r.topic().equals("c.public.zulu")
                    && "snapshot_complete".equals(r.sourceOffset().get("phase")));
            System.out.println("alpha's change arrived after " + zuluBefore + " of 200000 zulu snapshot rows");
            assertTrue(!zuluDone, "alpha's change waited for zulu's snapshot cursor (" + zuluBefore + " rows)");
        }
    }
}
