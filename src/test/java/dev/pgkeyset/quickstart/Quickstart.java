package dev.pgkeyset.quickstart;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import dev.pgkeyset.connect.pg.ReplicationServer;

/**
 * {@code java -jar kafka-connect-pg-keyset-<v>-quickstart.jar}: an embedded single-node Kafka and a
 * Connect worker in this JVM, running the connector of {@code config/quickstart.properties} against
 * the PostgreSQL of the {@code PG*} variables, or an embedded one of its own (see {@link PostgresChoice}),
 * with a live progress line.
 */
public final class Quickstart {

    static final String USAGE = """
            usage: java -jar kafka-connect-pg-keyset-<version>-quickstart.jar [options]
              --demo-rows N       create (or refill) table public.quickstart_demo with N rows first
                                  (without it, a missing demo table is created with 100,000 rows)
              --until-caught-up   exit 0 once every captured table's topic holds its rows
              --data-dir DIR      Kafka data and connector offsets (default ./quickstart-data); a re-run resumes
              --config FILE       connector properties (default config/quickstart.properties)
              --embedded-postgres start an embedded PostgreSQL 17 with its data in <data-dir>/postgres,
                                  whatever the PG* variables say
              --kafka-port N      Kafka's port on localhost (default 9092)
              --rest-port N       the Connect REST API's port on localhost (default 8083)
              --help              this text
            PostgreSQL comes from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (default localhost:5432/postgres);
            a server named there must answer. With neither PGHOST nor PGPORT set and nothing answering on
            localhost:5432, the quickstart starts the embedded PostgreSQL (as with --embedded-postgres).
            Kafka listens on localhost:9092 and the Connect REST API on localhost:8083 while it runs (a port
            that is taken stops the quickstart at once: choose another with --kafka-port or --rest-port);
            logs go to <data-dir>/quickstart.log.""";

    private static final String DEMO_INCLUDE = "public\\.quickstart_demo";
    private static final long DEFAULT_DEMO_ROWS = 100_000;

    record Options(Long demoRows, boolean untilCaughtUp, Path dataDir, Path config, boolean embeddedPostgres,
                   int kafkaPort, int restPort, boolean help) {
    }

    /** A problem a person can act on: printed as one line, exit code 1 or 2. */
    static final class Failure extends Exception {
        final int exitCode;

        Failure(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    public static void main(String[] args) {
        try {
            Options options = parse(args);
            if (options.help()) {
                System.out.println(USAGE);
                return;
            }
            // Kafka's and the worker's logs go to a file; the terminal shows progress and errors.
            writableDataDir(options.dataDir());
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "warn");
            System.setProperty("org.slf4j.simpleLogger.log.kafka", "warn");
            System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
            System.setProperty("org.slf4j.simpleLogger.logFile",
                    options.dataDir().resolve("quickstart.log").toAbsolutePath().toString());
            System.exit(run(options));
        } catch (Failure f) {
            System.err.println("error: " + f.getMessage());
            System.exit(f.exitCode);
        } catch (Throwable e) {
            System.err.println("error: " + e);
            System.exit(1);
        }
    }

    /**
     * The data directory, made if missing, and its log file opened once: one that cannot be written
     * (read-only, a file, no permission) ends the quickstart with one line before anything starts
     * (otherwise the logger would print a stack trace, and Kafka or PostgreSQL would fail later).
     */
    static void writableDataDir(Path dataDir) throws Failure {
        try {
            Files.createDirectories(dataDir);
            Files.newOutputStream(dataDir.resolve("quickstart.log"), java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND).close();
        } catch (IOException e) {
            String reason = e instanceof java.nio.file.FileAlreadyExistsException ? "not a directory"
                    : e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
                    : e.getClass().getSimpleName();
            throw new Failure("cannot write to the data directory " + dataDir.toAbsolutePath() + " (" + reason
                    + "): choose another with --data-dir", 1);
        }
    }

    static Options parse(String[] args) throws Failure {
        Long demoRows = null;
        boolean untilCaughtUp = false;
        boolean help = false;
        boolean embeddedPostgres = false;
        Path dataDir = Path.of("quickstart-data");
        Path config = Path.of("config", "quickstart.properties");
        int kafkaPort = EmbeddedKafka.DEFAULT_PORT;
        int restPort = EmbeddedWorker.DEFAULT_PORT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--demo-rows" -> {
                    String value = value(args, ++i, "--demo-rows");
                    try {
                        demoRows = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new Failure("--demo-rows takes a whole number, not '" + value + "'", 2);
                    }
                    if (demoRows < 0) {
                        throw new Failure("--demo-rows takes a number of rows of 0 or more", 2);
                    }
                }
                case "--until-caught-up" -> untilCaughtUp = true;
                case "--data-dir" -> dataDir = Path.of(value(args, ++i, "--data-dir"));
                case "--config" -> config = Path.of(value(args, ++i, "--config"));
                case "--embedded-postgres" -> embeddedPostgres = true;
                case "--kafka-port" -> kafkaPort = Ports.parse(value(args, ++i, "--kafka-port"), "--kafka-port");
                case "--rest-port" -> restPort = Ports.parse(value(args, ++i, "--rest-port"), "--rest-port");
                case "--help", "-h" -> help = true;
                default -> throw new Failure("unknown argument '" + args[i] + "' (see --help)", 2);
            }
        }
        if (kafkaPort == restPort) {
            throw new Failure("--kafka-port and --rest-port name the same port " + kafkaPort + ": choose two", 2);
        }
        return new Options(demoRows, untilCaughtUp, dataDir, config, embeddedPostgres, kafkaPort, restPort, help);
    }

    private static String value(String[] args, int i, String option) throws Failure {
        if (i >= args.length) {
            throw new Failure(option + " needs a value (see --help)", 2);
        }
        return args[i];
    }

    static int run(Options options) throws Exception {
        // Before anything starts: a second quickstart holding the ports is the usual cause.
        Ports.requireFree(options.kafkaPort(), "Kafka", "--kafka-port");
        Ports.requireFree(options.restPort(), "the Connect REST API", "--rest-port");
        Properties file = configFile(options.config());
        PostgresChoice choice = PostgresChoice.choose(System.getenv(), options.embeddedPostgres(),
                file.containsKey("connection.url"), Quickstart::answers);
        // A null resource is skipped by try-with-resources: only the embedded server is ours to stop.
        try (EmbeddedPostgresServer embedded = choice.embedded() ? EmbeddedPostgresServer.start(options.dataDir())
                : null) {
            PostgresTarget target = embedded != null ? embedded.target() : choice.userServer();
            Map<String, String> connector = connectorConfig(file, target);
            CaptureChoice capture;
            try (Connection db = connect(connector)) {
                announce(choice, embedded, target, connector, serverVersion(db));
                capture = CaptureChoice.decide(connector, ReplicationServer.read(db));
            }
            connector = capture.applyTo(connector);
            capture.explain(connector, choice.fromConfigFile() ? null : target.psqlCommand(),
                    embedded == null ? null : embedded.dataDirectory()).forEach(System.out::println);
            return replicate(options, connector, embedded != null);
        }
    }

    private static void announce(PostgresChoice choice, EmbeddedPostgresServer embedded, PostgresTarget target,
                                 Map<String, String> connector, String version) {
        if (embedded != null) {
            System.out.printf("PostgreSQL %s, embedded (%s); data in %s, %s%n", version, choice.reason(),
                    embedded.dataDirectory(), embedded.created() ? "created now" : "kept from an earlier run");
        } else {
            System.out.printf("PostgreSQL %s at %s as %s (%s)%n", version, connector.get("connection.url"),
                    connector.get("connection.user"), choice.reason());
        }
        if (!choice.fromConfigFile()) {
            System.out.println("  connect while it runs: " + target.psqlCommand());
        }
    }

    private static int replicate(Options options, Map<String, String> connector, boolean embeddedPostgres)
            throws Exception {
        try (Connection db = connect(connector)) {
            if (options.demoRows() != null) {
                DemoTable.refill(db, options.demoRows());
                System.out.printf("demo table public.quickstart_demo holds %,d rows%n", options.demoRows());
            }
        }
        Map<String, Long> expected = Progress.capturedTables(connector);
        if (expected.isEmpty() && options.demoRows() == null && DEMO_INCLUDE.equals(connector.get("table.include.list"))) {
            // The first run of the plain command: there is nothing to copy yet, so make the demo table.
            try (Connection db = connect(connector)) {
                DemoTable.refill(db, DEFAULT_DEMO_ROWS);
            }
            System.out.printf("created demo table public.quickstart_demo with %,d rows (--demo-rows N for another "
                    + "size)%n", DEFAULT_DEMO_ROWS);
            expected = Progress.capturedTables(connector);
        }
        if (expected.isEmpty()) {
            throw new Failure("no table matches table.include.list=" + connector.get("table.include.list")
                    + " (try --demo-rows 10000)", 1);
        }
        boolean walMode = CaptureChoice.WAL.equals(connector.get("capture.mode"));
        // Taken before the connector starts: every change made before this run is before it.
        SlotCaughtUp slotCaughtUp = options.untilCaughtUp() && walMode ? SlotCaughtUp.from(connect(connector),
                new dev.pgkeyset.connect.config.PgKeysetConfig(connector).slotName()) : null;
        long start = System.nanoTime();
        try (SlotCaughtUp closeAtTheEnd = slotCaughtUp;
             EmbeddedKafka kafka = EmbeddedKafka.start(options.dataDir(), options.kafkaPort());
             EmbeddedWorker worker = EmbeddedWorker.start(kafka.bootstrap(), options.dataDir(), options.restPort())) {
            worker.putConnector(connector.get("name"), connector);
            explainWhereThingsAre(kafka, worker, connector.get("name"), expected.keySet());
            Progress progress = new Progress(kafka.bootstrap(), expected, new WorkerGauges(connector.get("name"),
                    walMode));
            // Ctrl-C: a summary from the last progress seen (Kafka is stopping, so it is not asked
            // again); the embedded worker, broker and PostgreSQL stop through their own hooks. A run
            // that finished by itself has printed its last line already.
            java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
            Path dataDir = options.dataDir().toAbsolutePath();
            String walNotice = embeddedPostgres || !walMode ? null
                    : "replication slot " + new dev.pgkeyset.connect.config.PgKeysetConfig(connector).slotName()
                    + " stays on the server and keeps its WAL until the next run reads it or you drop it (see above)";
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (!finished.get()) {
                    String counts = progress.stopShowing();
                    System.out.println();
                    System.out.printf("stopped after %.0f s: %s%n", (System.nanoTime() - start) / 1e9, counts);
                    if (walNotice != null) {
                        System.out.println(walNotice);
                    }
                    System.out.println("data kept in " + dataDir + " (Kafka's log, the connector's offsets"
                            + (embeddedPostgres ? ", the embedded PostgreSQL" : "")
                            + "): the same command resumes where this run stopped");
                    System.out.flush();
                }
            }));
            while (true) {
                Thread.sleep(1000);
                progress.show((System.nanoTime() - start) / 1e9);
                if (options.untilCaughtUp() && progress.caughtUp()
                        && (slotCaughtUp == null || slotCaughtUp.reached())) {
                    progress.show((System.nanoTime() - start) / 1e9); // the counts the run ends with
                    progress.close();
                    finished.set(true);
                    System.out.printf("%nreplicated %d rows from %d tables in %.1f s%s%n", progress.rows(),
                            expected.size(), (System.nanoTime() - start) / 1e9, slotCaughtUp == null ? ""
                                    : ", and every change up to WAL position " + slotCaughtUp.startLsn()
                                    + " (this run's start): " + progress.changes() + " change records");
                    return 0;
                }
            }
        }
    }

    /** The first screen's map: where Kafka and the REST API listen, the topics, how to read one. */
    private static void explainWhereThingsAre(EmbeddedKafka kafka, EmbeddedWorker worker, String connectorName,
                                              java.util.Set<String> topics) {
        System.out.println("Kafka on " + kafka.bootstrap() + "; Connect REST API on " + worker.rest()
                + " (curl -s " + worker.rest() + "/connectors/" + connectorName + "/status)");
        System.out.println("topics: " + String.join(", ", topics));
        String port = kafka.bootstrap().equals(EmbeddedKafka.bootstrap(EmbeddedKafka.DEFAULT_PORT)) ? ""
                : " --kafka-port " + kafka.bootstrap().substring(kafka.bootstrap().lastIndexOf(':') + 1);
        System.out.println("read one while it runs: java -cp " + ownJar() + " " + ReadTopic.class.getName() + port
                + " " + topics.iterator().next());
    }

    /** The quickstart jar's path as this JVM loaded it (a class directory when run from the IDE). */
    static String ownJar() {
        try {
            return Path.of(Quickstart.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "kafka-connect-pg-keyset-<version>-quickstart.jar";
        }
    }

    /** Whether a server accepts TCP connections there within a second (no login, no query). */
    static boolean answers(PostgresTarget target) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(target.host(), target.port()), 1000);
            return true;
        } catch (IOException nothing) {
            return false;
        }
    }

    private static String serverVersion(Connection db) throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The connector config file as written, or the jar's copy when there is no such file. */
    static Properties configFile(Path file) throws Failure, IOException {
        Properties props = new Properties();
        if (Files.exists(file)) {
            try (Reader in = Files.newBufferedReader(file)) {
                props.load(in);
            }
        } else {
            try (InputStream in = Quickstart.class.getResourceAsStream("/quickstart.properties")) {
                if (in == null) {
                    throw new Failure("no connector config at " + file, 1);
                }
                props.load(in);
            }
        }
        return props;
    }

    /** The connector config: the connection to the chosen PostgreSQL, then the file's settings over it. */
    static Map<String, String> connectorConfig(Properties props, PostgresTarget target) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connection.url", target.jdbcUrl());
        config.put("connection.user", target.user());
        if (target.password() != null) {
            config.put("connection.password", target.password());
        }
        props.forEach((k, v) -> config.put((String) k, (String) v));
        config.putIfAbsent("name", "pg-keyset-quickstart");
        return config;
    }

    private static Connection connect(Map<String, String> connector) throws Failure {
        Properties props = new Properties();
        props.setProperty("user", connector.get("connection.user"));
        if (connector.get("connection.password") != null) {
            props.setProperty("password", connector.get("connection.password"));
        }
        props.setProperty("connectTimeout", "5");
        try {
            return DriverManager.getConnection(connector.get("connection.url"), props);
        } catch (SQLException e) {
            throw new Failure("cannot reach PostgreSQL at " + connector.get("connection.url") + " as "
                    + connector.get("connection.user") + ": " + e.getMessage(), 1);
        }
    }

    /** The REST calls the quickstart makes to its own worker. */
    static void put(URI uri, String json) throws IOException, InterruptedException, Failure {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() >= 300) {
            throw new Failure("the worker refused the connector: " + refusal(response.body()), 1);
        }
    }

    /**
     * The worker's refusal as lines a person reads: the errors of its "message" (validate()'s, each
     * naming the key and the remedy), without the JSON around them; the body itself otherwise.
     */
    static String refusal(String body) {
        try {
            com.fasterxml.jackson.databind.JsonNode message = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(body).path("message");
            if (!message.isTextual()) {
                return body;
            }
            StringBuilder text = new StringBuilder();
            for (String line : message.asText().split("\n")) {
                if (!line.isBlank() && !line.startsWith("You can also find")) {
                    text.append(System.lineSeparator()).append("  ").append(line);
                }
            }
            return text.toString();
        } catch (IOException e) {
            return body;
        }
    }

    static long count(Connection db, String sql) throws SQLException {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
