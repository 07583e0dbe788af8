package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/** The quickstart jar as a user runs it: {@code java -jar target/…-quickstart.jar …}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuickstartIT {

    private TestDatabase db;
    private QuickstartJar jar;
    private final Path dataDir = Path.of("target", "quickstart-it-data");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("quickstart");
        jar = QuickstartJar.locate();
        QuickstartJar.deleteTree(dataDir);
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private QuickstartJar.Run quickstart(String... args) throws Exception {
        return quickstart(Map.of(), args);
    }

    /** The jar against this test's database on the tests' server, named by the PG* variables. */
    private QuickstartJar.Run quickstart(Map<String, String> envOverrides, String... args) throws Exception {
        PostgresFixture.Server server = PostgresFixture.server();
        Map<String, String> env = new HashMap<>();
        env.put("PGHOST", server.host());
        env.put("PGPORT", Integer.toString(server.port()));
        env.put("PGUSER", server.user());
        env.put("PGDATABASE", db.name());
        env.put("PGPASSWORD", server.password());
        env.putAll(envOverrides);
        return jar.run(env, args);
    }

    @Test
    void replicatesTheDemoTableAndResumesOnASecondRun() throws Exception {
        QuickstartJar.Run first = quickstart("--demo-rows", "20000", "--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, first.exitCode(), first.stdout() + first.stderr());
        assertTrue(first.stdout().get(0).matches("PostgreSQL .+ at jdbc:postgresql://\\S+/" + db.name()
                + " as \\S+ \\(PGHOST/PGPORT\\)"), "the named server, not an embedded one: " + first.stdout());
        String last = first.stdout().get(first.stdout().size() - 1);
        assertTrue(last.matches("replicated 20000 rows from 1 tables in [0-9.]+ s"), last);
        assertTrue(Files.exists(dataDir.resolve("kafka").resolve("meta.properties")), "Kafka's data persists");

        QuickstartJar.Run second = quickstart("--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, second.exitCode(), second.stdout() + second.stderr());
        assertTrue(second.stdout().get(second.stdout().size() - 1).startsWith("replicated 20000 rows from 1 tables"));
    }

    @Test
    void badArgumentsAndAnUnreachableDatabaseFailInOneLine() throws Exception {
        QuickstartJar.Run bad = quickstart("--demo-rows", "many");
        assertEquals(2, bad.exitCode());
        assertEquals("error: --demo-rows takes a whole number, not 'many'", bad.stderr().strip());

        QuickstartJar.Run unknown = quickstart("--frobnicate");
        assertEquals(2, unknown.exitCode());
        assertFalse(unknown.stderr().contains("Exception"), unknown.stderr());

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
