package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The quickstart jar as a user runs it ({@code java -jar target/…-quickstart.jar …}) against the
 * tests' server named by the PG* variables: WAL mode where the role may replicate, query mode with
 * a one-line reason where it may not. Each test works in a database of its own, with a slot and
 * publication name of its own (slot names are server-wide: another run of this test may be going
 * on), and drops them afterwards; Kafka and the REST API take free ports.
 */
class QuickstartIT {

    private static final String TOPIC = "quickstart.public.quickstart_demo";

    private TestDatabase db;
    private QuickstartJar jar;
    private String slot;
    private Path config;
    private List<String> ports;
    private final List<String> rolesToDrop = new ArrayList<>();
    private final Path dataDir = Path.of("target", "quickstart-it-data-" + Long.toHexString(System.nanoTime()));

    @BeforeEach
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("quickstart");
        jar = QuickstartJar.locate();
        ports = QuickstartJar.freePorts();
        slot = "pgkeyset_qs_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        // The shipped config, with this test's slot and publication.
        String shipped = Files.readString(Path.of("config", "quickstart.properties"));
        assertTrue(shipped.contains("slot.name=pgkeyset_quickstart\n") && shipped.contains("capture.mode=wal\n"));
        config = Files.createTempFile(Path.of("target"), "quickstart-it", ".properties");
        Files.writeString(config, shipped.replace("slot.name=pgkeyset_quickstart", "slot.name=" + slot)
                .replace("publication.name=pgkeyset_quickstart", "publication.name=" + slot));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (db != null) {
                // A database with a slot cannot be dropped; the quickstart has stopped, so the slot is inactive.
                db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'", "DROP PUBLICATION IF EXISTS " + slot);
                db.close();
            }
            for (String role : rolesToDrop) {
                try (Connection admin = java.sql.DriverManager.getConnection(PostgresFixture.server().jdbcUrl("postgres"),
                        PostgresFixture.server().user(), PostgresFixture.server().password());
                     var st = admin.createStatement()) {
                    st.execute("DROP ROLE IF EXISTS " + role);
                }
            }
        } finally {
            Files.deleteIfExists(config);
            QuickstartJar.deleteTree(dataDir);
        }
    }

    private Map<String, String> env(Map<String, String> overrides) {
        PostgresFixture.Server server = PostgresFixture.server();
        Map<String, String> env = new HashMap<>();
        env.put("PGHOST", server.host());
        env.put("PGPORT", Integer.toString(server.port()));
        env.put("PGUSER", server.user());
        env.put("PGDATABASE", db.name());
        env.put("PGPASSWORD", server.password());
        env.putAll(overrides);
        return env;
    }

    /** The jar against this test's database on the tests' server, with this test's config and free ports. */
    private QuickstartJar.Run quickstart(Map<String, String> envOverrides, String... args) throws Exception {
        return jar.run(env(envOverrides), QuickstartJar.args(ports, QuickstartJar.args(List.of("--config",
                config.toString()), args)));
    }

    private QuickstartJar.Run quickstart(String... args) throws Exception {
        return quickstart(Map.of(), args);
    }

    @Test
    void replicatesTheDemoTableAndResumesOnASecondRun() throws Exception {
        QuickstartJar.Run first = quickstart("--demo-rows", "20000", "--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, first.exitCode(), first.stdout() + first.stderr());
        assertTrue(first.stdout().get(0).matches("PostgreSQL .+ at jdbc:postgresql://\\S+/" + db.name()
                + " as \\S+ \\(PGHOST/PGPORT\\)"), "the named server, not an embedded one: " + first.stdout());
        assertTrue(first.stdout().contains("changes from the WAL (capture.mode=wal): the snapshot, then every insert, "
                + "update and delete, through replication slot " + slot + " and publication " + slot), first.stdout()
                .toString());
        assertTrue(first.stdout().stream().anyMatch(line -> line.startsWith("  both stay after the quickstart stops")
                && line.endsWith("-c \"SELECT pg_drop_replication_slot('" + slot + "')\" -c 'DROP PUBLICATION \""
                + slot + "\"'")), first.stdout().toString());
        String last = first.stdout().get(first.stdout().size() - 1);
        assertTrue(last.matches("replicated 20000 rows from 1 tables in [0-9.]+ s, and every change up to WAL "
                + "position [0-9A-F]+/[0-9A-F]+ \\(this run's start\\): 0 change records"), last);
        assertTrue(Files.exists(dataDir.resolve("kafka").resolve("meta.properties")), "Kafka's data persists");
        assertEquals(1, db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot
                + "' AND database = current_database()"), "the slot the first screen named");

        // Changes while no run is going: on the resume the topic already holds the table's rows, so
        // --until-caught-up waits for the slot to pass this run's start, not for a record count.
        db.execute("UPDATE quickstart_demo SET amount = amount + 1 WHERE id IN (1, 2, 3)",
                "DELETE FROM quickstart_demo WHERE id = 4");
        QuickstartJar.Run second = quickstart("--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, second.exitCode(), second.stdout() + second.stderr());
        String secondLast = second.stdout().get(second.stdout().size() - 1);
        assertTrue(secondLast.matches("replicated 19999 rows from 1 tables in [0-9.]+ s, and every change up to WAL "
                + "position [0-9A-F]+/[0-9A-F]+ \\(this run's start\\): 4 change records"), secondLast);
    }

    /** An insert, an update and a DELETE typed while the quickstart runs reach the topic (the delete a tombstone). */
    @Test
    void followsAnInsertAnUpdateAndAHardDeleteFromTheWal() throws Exception {
        QuickstartJar.Live live = jar.startLive(env(Map.of()), QuickstartJar.args(ports, "--config", config.toString(),
                "--demo-rows", "2000", "--data-dir", dataDir.toString()));
        Map<Long, String> table;
        List<String> lines;
        try {
            live.awaitLine(line -> line.startsWith("snapshot done: 2,000 rows | changes 0, lag "), Duration.ofSeconds(120));
            try (Connection c = db.connect()) {
                c.setAutoCommit(true);
                LiveChanges.apply(c);
                table = LiveChanges.table(c);
            }
            live.awaitLine(line -> line.startsWith("snapshot done: 2,000 rows | changes 3, lag "), Duration.ofSeconds(60));
        } finally {
            lines = live.stop();
        }
        assertTrue(lines.stream().anyMatch(line -> line.equals("replication slot " + slot + " stays on the server and "
                + "keeps its WAL until the next run reads it or you drop it (see above)")), lines.toString());
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dataDir, Integer.parseInt(ports.get(1)))) {
            LiveChanges.TopicState topic = LiveChanges.read(kafka.bootstrap(), TOPIC);
            assertEquals(Map.of("r", 2000L, "c", 1L, "u", 1L, "d", 1L), topic.ops());
            LiveChanges.assertTopicFollowsTable(table, topic.last());
        }
    }

    /** A role without REPLICATION: one line says so and what to run, then query mode replicates the table. */
    @Test
    void fallsBackToQueryModeSayingWhyWhenTheRoleMayNotReplicate() throws Exception {
        String role = "pgkeyset_qs_norepl_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        db.execute("CREATE ROLE " + role + " LOGIN NOREPLICATION NOSUPERUSER", "ALTER DATABASE " + db.name()
                + " OWNER TO " + role, "GRANT CREATE ON SCHEMA public TO " + role,
                // query mode needs it for its horizon (every other session's xact_start)
                "GRANT pg_read_all_stats TO " + role);
        rolesToDrop.add(role);
        QuickstartJar.Run run = quickstart(Map.of("PGUSER", role), "--demo-rows", "500", "--until-caught-up",
                "--data-dir", dataDir.toString());
        assertEquals(0, run.exitCode(), run.stdout() + run.stderr());
        assertTrue(run.stdout().contains("no WAL capture here: role " + role + " may not replicate (run ALTER ROLE "
                + role + " REPLICATION as a superuser); following changes by query instead (capture.mode=query: "
                + "inserts and updates through updated_at, hard deletes unseen)"), run.stdout().toString());
        assertFalse(run.stdout().stream().anyMatch(line -> line.contains("replication slot")), run.stdout().toString());
        assertTrue(run.lastLine().matches("replicated 500 rows from 1 tables in [0-9.]+ s"), run.lastLine());
        try (Connection c = db.connect();
             PreparedStatement st = c.prepareStatement("SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?")) {
            st.setString(1, slot);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                assertEquals(0, rs.getLong(1), "no slot in query mode");
            }
        }
        db.execute("REASSIGN OWNED BY " + role + " TO CURRENT_USER", "ALTER DATABASE " + db.name()
                + " OWNER TO CURRENT_USER");
    }

    /** A default port that is taken stops the quickstart in one line naming the port and the option. */
    @Test
    void aTakenPortIsAnErrorNamingTheOption() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            QuickstartJar.Run run = jar.run(env(Map.of()), "--kafka-port", Integer.toString(port), "--rest-port",
                    ports.get(3), "--data-dir", dataDir.toString());
            assertEquals(1, run.exitCode(), run.stdout() + run.stderr());
            assertEquals("error: port " + port + " (Kafka) is taken on localhost, perhaps by another quickstart or a "
                    + "Kafka of yours: stop it, or choose another port with --kafka-port N", run.stderr().strip());
            QuickstartJar.Run rest = jar.run(env(Map.of()), "--kafka-port", ports.get(1), "--rest-port",
                    Integer.toString(port), "--data-dir", dataDir.toString());
            assertEquals(1, rest.exitCode(), rest.stdout() + rest.stderr());
            assertTrue(rest.stderr().strip().startsWith("error: port " + port + " (the Connect REST API) is taken")
                    && rest.stderr().strip().endsWith("--rest-port N"), rest.stderr());
        }
    }

    @Test
    void badArgumentsAndAnUnreachableDatabaseFailInOneLine() throws Exception {
        QuickstartJar.Run bad = quickstart("--demo-rows", "many");
        assertEquals(2, bad.exitCode());
        assertEquals("error: --demo-rows takes a whole number, not 'many'", bad.stderr().strip());

        QuickstartJar.Run unknown = quickstart("--frobnicate");
        assertEquals(2, unknown.exitCode());
        assertFalse(unknown.stderr().contains("Exception"), unknown.stderr());

        QuickstartJar.Run badPort = quickstart("--kafka-port", "99999");
        assertEquals(2, badPort.exitCode());
        assertEquals("error: --kafka-port takes a port number from 1 to 65535, not '99999'", badPort.stderr().strip());

        QuickstartJar.Run unreachable = quickstart(Map.of("PGPORT", "1"), "--until-caught-up", "--data-dir",
                dataDir.resolve("unused").toString());
        assertEquals(1, unreachable.exitCode());
        assertTrue(unreachable.stderr().strip().startsWith("error: cannot reach PostgreSQL")
                && unreachable.stderr().strip().lines().count() == 1, unreachable.stderr());

        // PGPORT alone names a server too: one that does not answer is an error, not a reason to embed one.
        Map<String, String> portOnly = new HashMap<>();
        portOnly.put("PGHOST", null);
        portOnly.put("PGPORT", "1");
        QuickstartJar.Run closedPort = quickstart(portOnly, "--until-caught-up", "--data-dir",
                dataDir.resolve("unused").toString());
        assertEquals(1, closedPort.exitCode(), closedPort.stdout() + closedPort.stderr());
        assertTrue(closedPort.stderr().strip().startsWith("error: cannot reach PostgreSQL at jdbc:postgresql://"
                + "localhost:1/"), closedPort.stderr());
        assertFalse(Files.exists(dataDir.resolve("unused").resolve("postgres")), "no embedded server was started");

        QuickstartJar.Run help = quickstart("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.stdout().get(0).startsWith("usage:"));
    }
}
