package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;


/**
 * The quickstart jar on its own embedded PostgreSQL, as on a machine without one: the first run
 * creates the server and replicates the demo table in WAL mode; a second run resumes on the same
 * database, slot and offsets, delivering the rows added in between as changes (no second snapshot)
 * and an insert, an update and a DELETE typed while it runs, until a signal stops it; a server left
 * running by a killed run does not stop it from starting. It never connects to the PG* server of
 * the other tests: the variables are removed, PGPORT names a closed port. Kafka and the REST API
 * take free ports. The slot and publication live in the data directory, which is removed.
 */
class EmbeddedQuickstartIT {

    private static final String TOPIC = "quickstart.public.quickstart_demo";
    private static final Pattern PSQL = Pattern.compile("  connect while it runs: psql -h localhost -p (\\d+) -U postgres postgres");

    private Path dataDir;
    private List<String> ports;

    @BeforeEach
    void freshDataDir() throws Exception {
        dataDir = Files.createTempDirectory(Path.of("target"), "embedded-quickstart-").toAbsolutePath();
        ports = QuickstartJar.freePorts();
    }

    private int kafkaPort() {
        return Integer.parseInt(ports.get(1));
    }

    @AfterEach
    void removeDataDir() throws Exception {
        // A server this test left running (a failed assertion before the quickstart stopped it).
        runningPostmaster().ifPresent(postmaster -> {
            postmaster.destroy();
            postmaster.onExit().join();
        });
        QuickstartJar.deleteTree(dataDir);
    }

    private java.util.Optional<ProcessHandle> runningPostmaster() throws Exception {
        Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return java.util.Optional.empty();
        }
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    }

    /**
     * What a SIGKILLed quickstart leaves: its PostgreSQL still running on the data directory, owned
     * by nobody. Started here with the pg_ctl that Zonky unpacked, as Zonky starts it.
     */
    private long startPostmasterAsIfLeftOver(int port) throws Exception {
        Path pgCtl = null;
        try (var dirs = Files.newDirectoryStream(Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg"), "PG-*")) {
            for (Path dir : dirs) {
                Path candidate = dir.resolve("bin").resolve("pg_ctl");
                if (Files.isExecutable(candidate) && new String(new ProcessBuilder(candidate.toString(), "--version")
                        .start().getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("PostgreSQL) 17")) {
                    pgCtl = candidate;
                }
            }
        }
        assertTrue(pgCtl != null, "Zonky's unpacked PostgreSQL 17 binaries");
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            // pg_ctl refuses root; Zonky runs it in a user namespace of its own, and so does this.
            command.addAll(List.of("unshare", "-U"));
        }
        command.addAll(List.of(pgCtl.toString(), "-D", dataDir.resolve("postgres").toString(), "-o",
                "-p " + port + " -c wal_level=logical", "-l", dataDir.resolve("left-over.log").toString(), "-w", "start"));
        Process start = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertEquals(0, start.waitFor(), "pg_ctl start");
        return runningPostmaster().orElseThrow().pid();
    }

    /** No PG* server: the embedded one must be what the quickstart uses. */
    private static Map<String, String> withoutAServer() {
        Map<String, String> env = new HashMap<>();
        for (String variable : List.of("PGHOST", "PGUSER", "PGDATABASE", "PGPASSWORD")) {
            env.put(variable, null);
        }
        env.put("PGPORT", "1");
        return env;
    }

    @Test
    void replicatesTheDemoTableOnAnEmbeddedServerAndResumesWithoutASecondSnapshot() throws Exception {
        QuickstartJar jar = QuickstartJar.locate();
        long start = System.nanoTime();
        QuickstartJar.Run first = jar.run(withoutAServer(), QuickstartJar.args(ports, "--embedded-postgres",
                "--demo-rows", "3000", "--until-caught-up", "--data-dir", dataDir.toString()));
        assertEquals(0, first.exitCode(), first.stdout() + first.stderr());
        System.out.printf("first run: %.1f s%n", (System.nanoTime() - start) / 1e9);
        assertTrue(first.stdout().get(0).matches("PostgreSQL 17\\.\\d+, embedded \\(--embedded-postgres\\); data in "
                + Pattern.quote(dataDir.resolve("postgres").toString()) + ", created now"), first.stdout().get(0));
        Matcher psql = PSQL.matcher(first.stdout().get(1));
        assertTrue(psql.matches(), first.stdout().get(1));
        int port = Integer.parseInt(psql.group(1));
        assertEquals("changes from the WAL (capture.mode=wal): the snapshot, then every insert, update and delete, "
                + "through replication slot pgkeyset_quickstart and publication pgkeyset_quickstart",
                first.stdout().get(2));
        assertEquals("  both stay after the quickstart stops, and a slot keeps the server's WAL until it is read or "
                + "dropped; when done: psql -h localhost -p " + port + " -U postgres postgres -c \"SELECT "
                + "pg_drop_replication_slot('pgkeyset_quickstart')\" -c 'DROP PUBLICATION \"pgkeyset_quickstart\"' "
                + "(or delete " + dataDir.resolve("postgres") + ", which holds them)", first.stdout().get(3));
        assertTrue(first.lastLine().startsWith("replicated 3000 rows from 1 tables"), first.lastLine());
        assertFirstScreen(first, jar);
        assertEquals("17", Files.readString(dataDir.resolve("postgres").resolve("PG_VERSION"),
                StandardCharsets.US_ASCII).strip());

        // Between the runs, on the same server the quickstart left: five new rows for the change phase.
        try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir);
             Connection db = DriverManager.getConnection(server.target().jdbcUrl(), "postgres", "");
             Statement st = db.createStatement()) {
            assertEquals(port, server.target().port(), "the port of the first run is remembered");
            assertEquals("logical", single(st, "SHOW wal_level"));
            assertEquals("3000", single(st, "SELECT count(*) FROM public.quickstart_demo"));
            assertEquals("pgkeyset_quickstart", single(st, "SELECT string_agg(slot_name, ',') FROM pg_replication_slots"
                    + " WHERE plugin = 'pgoutput'"), "the slot the first screen named");
            st.execute("INSERT INTO public.quickstart_demo (id, customer, amount, updated_at)"
                    + " SELECT g, 'late-' || g, 1.00, now() FROM generate_series(900001, 900005) g");
        }

        long leftOver = startPostmasterAsIfLeftOver(port);
        System.out.printf("rows added: %.1f s%n", (System.nanoTime() - start) / 1e9);
        Map<Long, String> table = new java.util.TreeMap<>();
        List<String> second = secondRunStoppedByASignal(jar, port, table);
        System.out.printf("second run: %.1f s%n", (System.nanoTime() - start) / 1e9);
        assertEquals("stopped the embedded PostgreSQL (pid " + leftOver + ") that an earlier run left running",
                second.get(0));
        assertTrue(second.get(1).endsWith(", kept from an earlier run"), second.get(1));
        assertEquals("  connect while it runs: psql -h localhost -p " + port + " -U postgres postgres", second.get(2));
        assertTrue(runningPostmaster().isEmpty(), "the quickstart's server stopped with it");

        // A second snapshot would have written some of the 3,000 rows again into the same topic.
        LiveChanges.TopicState topic = topicAfterwards(jar);
        assertEquals(Map.of("r", 3000L, "c", 6L, "u", 1L, "d", 1L), topic.ops(),
                "3,000 rows once, the 5 rows added between the runs, then the typed insert, update and delete");
        LiveChanges.assertTopicFollowsTable(table, topic.last());
        System.out.printf("topic read: %.1f s%n", (System.nanoTime() - start) / 1e9);
    }

    private void assertFirstScreen(QuickstartJar.Run run, QuickstartJar jar) {
        String rest = "http://localhost:" + ports.get(3);
        assertTrue(run.stdout().contains("Kafka on localhost:" + kafkaPort() + "; Connect REST API on " + rest
                + " (curl -s " + rest + "/connectors/pg-keyset-quickstart/status)"), run.stdout().toString());
        assertTrue(run.stdout().contains("topics: " + TOPIC), run.stdout().toString());
        assertTrue(run.stdout().stream().anyMatch(line -> line.matches("read one while it runs: java -cp \\S+"
                + "-quickstart\\.jar dev\\.pgkeyset\\.quickstart\\.ReadTopic --kafka-port " + kafkaPort() + " "
                + Pattern.quote(TOPIC))), run.stdout().toString());
        // The sample record, once, as soon as the first arrived: the snapshot's row with the lowest key.
        int sample = run.stdout().indexOf("first record, in " + TOPIC + " at offset 0 (JSON payloads; each also "
                + "carries its schema):");
        assertTrue(sample > 0, run.stdout().toString());
        assertEquals("  key:     {\"id\":1}", run.stdout().get(sample + 1));
        assertTrue(run.stdout().get(sample + 2).matches("  value:   \\{\"id\":1,\"customer\":\"customer-1\",.*\\}"),
                run.stdout().get(sample + 2));
        assertTrue(run.stdout().get(sample + 3).startsWith("  headers: ") && run.stdout().get(sample + 3)
                .contains("pgkeyset.op=r"), run.stdout().get(sample + 3));
        assertEquals(1, run.stdout().stream().filter(line -> line.startsWith("first record")).count());
    }

    /**
     * The second run, as a user runs it (no --until-caught-up): once it shows the rows added between
     * the runs as changes, an insert, an update and a DELETE are typed on its server; once it shows
     * those too it is sent SIGTERM (Ctrl-C runs the same shutdown hooks): it says what it did and how
     * to resume. {@code table} receives the table as PostgreSQL has it after the changes.
     */
    private List<String> secondRunStoppedByASignal(QuickstartJar jar, int port, Map<Long, String> table)
            throws Exception {
        QuickstartJar.Live second = jar.startLive(withoutAServer(), QuickstartJar.args(ports, "--embedded-postgres",
                "--data-dir", dataDir.toString()));
        try {
            second.awaitLine(line -> line.startsWith("snapshot done: 3,000 rows | changes 5, lag "),
                    Duration.ofSeconds(90));
            try (Connection db = DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/postgres",
                    "postgres", "")) {
                LiveChanges.apply(db);
                table.putAll(LiveChanges.table(db));
            }
            second.awaitLine(line -> line.startsWith("snapshot done: 3,000 rows | changes 8, lag "),
                    Duration.ofSeconds(60));
        } finally {
            List<String> lines = second.stop();
            assertTrue(lines.stream().anyMatch(line -> line.matches("stopped after \\d+ s: " + Pattern.quote(
                    "3,000 snapshot records of 3,005 rows counted at the start, 8 changes"))), lines.toString());
            // The summary comes last: no progress line drawn over or after it while the worker stops.
            assertTrue(lines.get(lines.size() - 2).matches("stopped after \\d+ s: .*"), lines.toString());
            assertEquals("data kept in " + dataDir + " (Kafka's log, the connector's offsets, the embedded "
                    + "PostgreSQL): the same command resumes where this run stopped", lines.get(lines.size() - 1));
            return lines;
        }
    }

    private static String single(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The demo topic, read from the quickstart's Kafka log after it exited. */
    private LiveChanges.TopicState topicAfterwards(QuickstartJar jar) throws Exception {
        LiveChanges.TopicState state;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dataDir, kafkaPort())) {
            state = LiveChanges.read(kafka.bootstrap(), TOPIC);

            // The reader the first screen names prints one record with its key, value and headers.
            QuickstartJar.Run read = jar.runClass(ReadTopic.class.getName(), "--kafka-port",
                    Integer.toString(kafkaPort()), TOPIC, "1");
            assertEquals(0, read.exitCode(), read.stdout() + read.stderr());
            assertEquals("offset 0", read.stdout().get(0), read.stdout().toString());
            assertTrue(read.stdout().get(1).startsWith("  key:     {") && read.stdout().get(1).contains("\"id\":"),
                    read.stdout().toString());
            assertTrue(read.stdout().get(2).startsWith("  value:   {") && read.stdout().get(2).contains("\"customer\""),
                    read.stdout().toString());
            assertTrue(read.stdout().get(3).startsWith("  headers: "), read.stdout().toString());
        }
        return state;
    }
}
