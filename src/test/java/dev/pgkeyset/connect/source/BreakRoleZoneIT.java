package dev.pgkeyset.connect.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial: a writer role with its own zone ({@code ALTER ROLE w IN DATABASE d SET timezone}),
 * which pg_db_role_setting shows to anyone (the connector reads it there for track_activities),
 * writes a {@code timestamp} column hours below the horizon. The README calls it unsupported; the
 * test shows validate() accepts it and the rows are lost. The writer is psql (libpq sends no
 * zone), so the role setting applies as it does for most non-Java clients.
 */
class BreakRoleZoneIT {

    private TestDatabase db;
    private final String role = "pgkeyset_brz_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_role_zone");
        db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'UTC'",
                "CREATE TABLE ev (id bigint PRIMARY KEY, updated_at timestamp NOT NULL DEFAULT now())",
                "CREATE INDEX ON ev (updated_at, id)",
                "CREATE ROLE " + role + " LOGIN", "GRANT INSERT ON ev TO " + role,
                "ALTER ROLE " + role + " IN DATABASE " + db.name() + " SET timezone = 'America/New_York'");
    }

    @AfterEach
    void tearDown() {
        db.execute("DROP OWNED BY " + role);
        db.close();
        try {
            new ProcessBuilder("psql", "-h", PostgresFixture.server().host(), "-U", PostgresFixture.server().user(),
                    "-d", "postgres", "-c", "DROP ROLE IF EXISTS " + role).inheritIO().start().waitFor();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void psqlInsert(int id) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-q", "-h", PostgresFixture.server().host(), "-U", role,
                "-d", db.name(), "-c", "INSERT INTO ev (id) VALUES (" + id + ")");
        pb.environment().remove("PGTZ");
        pb.environment().remove("PGOPTIONS");
        assertEquals(0, pb.inheritIO().start().waitFor(), "psql insert " + id);
    }

    private Set<Long> keys() throws Exception {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM ev ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    @Test
    void aWriterRolesOwnZoneIsAcceptedAndItsRowsAreLost() throws Exception {
        try {
            new ProcessBuilder("psql", "--version").start().waitFor();
        } catch (java.io.IOException noPsql) {
            Assumptions.abort("needs psql");
        }
        Map<String, String> props = db.connectorConfig("c", "public\\.ev");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        List<String> errors = new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            db.execute("INSERT INTO ev (id) VALUES (1)"); // pgjdbc, JVM zone UTC in this build = the database's
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 1);
            for (int i = 2; i <= 5; i++) {
                psqlInsert(i);
            }
            Polls.during(harness, records, Duration.ofSeconds(5));
        }
        Set<Long> expected = keys();
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        System.out.println("BreakRoleZoneIT: validate errors " + errors + "; table has " + expected + "; delivered "
                + delivered);
        assertEquals(expected, delivered, "every committed row arrives, or validate() refuses the setup");
    }
}
