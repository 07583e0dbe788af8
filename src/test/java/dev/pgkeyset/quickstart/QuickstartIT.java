package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
    private Path jar;
    private final Path dataDir = Path.of("target", "quickstart-it-data");

    @BeforeAll
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("quickstart");
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of("target"), "*-quickstart.jar")) {
            files.forEach(jars::add);
        }
        assertEquals(1, jars.size(), "mvn package writes one quickstart jar: " + jars);
        jar = jars.get(0);
        if (Files.exists(dataDir)) {
            try (var paths = Files.walk(dataDir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private record Run(int exitCode, List<String> stdout, String stderr) {
    }

    private Run quickstart(String... args) throws Exception {
        return quickstart(Map.of(), args);
    }

    private Run quickstart(Map<String, String> envOverrides, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-jar", jar.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        PostgresFixture.Server server = PostgresFixture.server();
        Map<String, String> env = builder.environment();
        env.put("PGHOST", server.host());
        env.put("PGPORT", Integer.toString(server.port()));
        env.put("PGUSER", server.user());
        env.put("PGDATABASE", db.name());
        if (server.password() != null) {
            env.put("PGPASSWORD", server.password());
        }
        env.putAll(envOverrides);
        Path out = Files.createTempFile("quickstart", ".out");
        Path err = Files.createTempFile("quickstart", ".err");
        Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(process.waitFor(4, TimeUnit.MINUTES), "the quickstart finished in time");
        Run run = new Run(process.exitValue(), Files.readAllLines(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return run;
    }

    @Test
    void replicatesTheDemoTableAndResumesOnASecondRun() throws Exception {
        Run first = quickstart("--demo-rows", "20000", "--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, first.exitCode(), first.stdout() + first.stderr());
        String last = first.stdout().get(first.stdout().size() - 1);
        assertTrue(last.matches("replicated 20000 rows from 1 tables in [0-9.]+ s"), last);
        assertTrue(Files.exists(dataDir.resolve("kafka").resolve("meta.properties")), "Kafka's data persists");

        Run second = quickstart("--until-caught-up", "--data-dir", dataDir.toString());
        assertEquals(0, second.exitCode(), second.stdout() + second.stderr());
        assertTrue(second.stdout().get(second.stdout().size() - 1).startsWith("replicated 20000 rows from 1 tables"));
    }

    @Test
    void badArgumentsAndAnUnreachableDatabaseFailInOneLine() throws Exception {
        Run bad = quickstart("--demo-rows", "many");
        assertEquals(2, bad.exitCode());
        assertEquals("error: --demo-rows takes a whole number, not 'many'", bad.stderr().strip());

        Run unknown = quickstart("--frobnicate");
        assertEquals(2, unknown.exitCode());
        assertFalse(unknown.stderr().contains("Exception"), unknown.stderr());

        Run unreachable = quickstart(Map.of("PGPORT", "1"), "--until-caught-up", "--data-dir",
                dataDir.resolve("unused").toString());
        assertEquals(1, unreachable.exitCode());
        assertTrue(unreachable.stderr().strip().startsWith("error: cannot reach PostgreSQL")
                && unreachable.stderr().strip().lines().count() == 1, unreachable.stderr());

        Run help = quickstart("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.stdout().get(0).startsWith("usage:"));
    }
}
