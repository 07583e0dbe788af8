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
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * A writer role with its own zone ({@code ALTER ROLE w [IN DATABASE d] SET timezone}) writes a
 * {@code timestamp} column hours below the horizon (found by an adversarial review: validate()
 * accepted it and the psql writer's rows 2-5 were lost). Now validate() and start refuse the
 * column naming the role; once the role's setting is reset, the same writer's rows all arrive.
 * The writer is psql (libpq sends no zone), so the role setting applies as for most non-Java
 * clients. The oracle for the role's zone is what PostgreSQL gives psql's session.
 */
class WriterRoleZoneIT {

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
            new ProcessBuilder("psql", "-h", PostgresFixture.server().host(), "-p",
                Integer.toString(PostgresFixture.server().port()), "-U", PostgresFixture.server().user(),
                    "-d", "postgres", "-c", "DROP ROLE IF EXISTS " + role).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void psqlInsert(int id) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-q", "-h", PostgresFixture.server().host(), "-p",
                Integer.toString(PostgresFixture.server().port()), "-U", role,
                "-d", db.name(), "-c", "INSERT INTO ev (id) VALUES (" + id + ")");
        pb.environment().remove("PGTZ");
        pb.environment().remove("PGOPTIONS");
        assertEquals(0, pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(), "psql insert " + id);
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

    private static List<String> validationErrors(Map<String, String> props) {
        return new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aWriterRolesOwnZoneIsRefusedAndAfterAResetItsRowsArrive(boolean inThisDatabaseOnly) throws Exception {
        try {
            new ProcessBuilder("psql", "--version").start().waitFor();
        } catch (java.io.IOException noPsql) {
            Assumptions.abort("needs psql");
        }
        if (!inThisDatabaseOnly) {
            db.execute("ALTER ROLE " + role + " IN DATABASE " + db.name() + " RESET timezone",
                    "ALTER ROLE " + role + " SET timezone = 'America/New_York'");
        }
        // PostgreSQL's word for the zone the writer's sessions get.
        Process show = new ProcessBuilder("psql", "-X", "-At", "-h", PostgresFixture.server().host(), "-p",
                Integer.toString(PostgresFixture.server().port()), "-U", role,
                "-d", db.name(), "-c", "SHOW TimeZone").start();
        String writerZone = new String(show.getInputStream().readAllBytes()).trim();
        assertEquals("America/New_York", writerZone);

        Map<String, String> props = db.connectorConfig("c", "public\\.ev");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        List<String> errors = validationErrors(props);
        System.out.println("WriterRoleZoneIT: validate errors " + errors);
        assertTrue(errors.stream().anyMatch(e -> e.contains(role) && e.contains("updated_at")
                && e.contains("RESET timezone")), "validate() names the role and the remedy: " + errors);
        Exception atStart = assertThrows(Exception.class, () -> new TaskHarness(props).start().close());
        assertTrue(SubscriberTablesIT.messages(atStart).contains(role), SubscriberTablesIT.messages(atStart));

        db.execute("ALTER ROLE " + role + (inThisDatabaseOnly ? " IN DATABASE " + db.name() : "") + " RESET timezone");
        assertEquals(List.of(), validationErrors(props), "accepted once the role's zone is reset");
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            psqlInsert(1); // not pgjdbc: it would write in the JVM's zone (Asia/Tokyo in the hostile run)
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 1);
            for (int i = 2; i <= 5; i++) {
                psqlInsert(i);
            }
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 5);
            Polls.during(harness, records, Duration.ofSeconds(2));
        }
        Set<Long> expected = keys();
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        System.out.println("WriterRoleZoneIT: table has " + expected + "; delivered " + delivered);
        assertEquals(expected, delivered, "every committed row arrives");
    }
}
