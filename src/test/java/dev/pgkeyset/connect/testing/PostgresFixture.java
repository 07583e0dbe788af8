package dev.pgkeyset.connect.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;

/**
 * The PostgreSQL server the tests use: the one named by the libpq variables {@code PGHOST},
 * {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD} when {@code PGHOST} is set (CI's service);
 * otherwise an embedded PostgreSQL 17 (Zonky's binaries, a child process of the test JVM on a free
 * port, its data in a temporary directory removed when the JVM exits); otherwise, where no binaries
 * exist for this platform, a Testcontainers {@code postgres:16} when Docker runs; otherwise the tests
 * stop at once, saying so. With the system property {@code pgkeyset.test.postgres=embedded} the
 * embedded PostgreSQL is taken even when {@code PGHOST} is set: CI's second pass over the tests
 * that depend on server behaviour runs them on 17 beside the service's 15 (pom.xml, execution
 * {@code postgres-17}).
 * Every test class works in a database of its own, created here and dropped when it closes.
 */
public final class PostgresFixture {

    /** The system property that chooses the embedded server whatever PGHOST says. */
    public static final String CHOICE_PROPERTY = "pgkeyset.test.postgres";

    private static Server server;
    /** The embedded server's data directory when this JVM started one, else null (PGHOST's server). */
    private static Path embeddedData;

    private PostgresFixture() {
    }

    /** Where the server is and how to log in as a superuser. */
    public record Server(String host, int port, String user, String password) {
        public String jdbcUrl(String database) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }
    }

    public static synchronized Server server() {
        if (server == null) {
            server = locate(System.getenv(), System.getProperty(CHOICE_PROPERTY, ""));
        }
        return server;
    }

    static Server locate(Map<String, String> env, String choice) {
        if ("embedded".equals(choice)) {
            Server embedded = startEmbedded();
            if (embedded == null) {
                throw new IllegalStateException(CHOICE_PROPERTY + "=embedded, but Zonky ships no PostgreSQL binaries "
                        + "for this OS and architecture: run without it (PGHOST names the server)");
            }
            return embedded;
        }
        if (!choice.isEmpty()) {
            throw new IllegalStateException(CHOICE_PROPERTY + "=" + choice + " is not known: 'embedded', or leave it "
                    + "unset (PGHOST, else embedded, else Testcontainers)");
        }
        String host = env.get("PGHOST");
        if (host != null && !host.isBlank()) {
            if (host.startsWith("/")) {
                throw new IllegalStateException("PGHOST=" + host + " is a Unix socket directory; the JDBC driver "
                        + "needs a TCP host, e.g. PGHOST=127.0.0.1");
            }
            int port = Integer.parseInt(env.getOrDefault("PGPORT", "5432"));
            String user = env.getOrDefault("PGUSER", System.getProperty("user.name"));
            return new Server(host, port, user, env.get("PGPASSWORD"));
        }
        Server embedded = startEmbedded();
        if (embedded != null) {
            return embedded;
        }
        if (dockerAvailable()) {
            @SuppressWarnings("resource") // lives as long as the test JVM; Testcontainers' reaper removes it
            PostgreSQLContainer<?> container = new PostgreSQLContainer<>("postgres:16");
            container.start();
            return new Server(container.getHost(), container.getMappedPort(5432), container.getUsername(),
                    container.getPassword());
        }
        throw new IllegalStateException("No PostgreSQL for the tests: set PGHOST (and PGPORT, PGUSER, PGPASSWORD) "
                + "to a PostgreSQL 12+ server whose user may create databases, e.g. "
                + "'PGHOST=127.0.0.1 PGUSER=postgres mvn verify', or run a Docker engine so Testcontainers can "
                + "start postgres:16.");
    }

    /** The embedded server, or null where Zonky has no PostgreSQL binaries for this OS and architecture. */
    private static Server startEmbedded() {
        try {
            // A directory of ours, not Zonky's default, so that restartEmbedded() can find the
            // server; Zonky still removes it when the server stops.
            Path data = Files.createTempDirectory("pgkeyset-embedded-pg-");
            @SuppressWarnings("resource") // lives as long as the test JVM; Zonky's shutdown hook stops it and removes its data
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(data)
                    .setServerConfig("wal_level", "logical")
                    // Zonky's default is off; logical decoding reads only WAL already flushed, so a
                    // change committed asynchronously could stay unseen for a while.
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("max_replication_slots", "20")
                    .setServerConfig("max_wal_senders", "20")
                    .setPGStartupWait(java.time.Duration.ofSeconds(60))
                    .start();
            embeddedData = data;
            return new Server("127.0.0.1", postgres.getPort(), "postgres", null);
        } catch (IllegalStateException e) {
            // Zonky's word for a platform it ships no binaries for; anything else is a real failure.
            if (String.valueOf(e.getMessage()).startsWith("No Postgres binary found")) {
                return null;
            }
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("the embedded PostgreSQL did not start: " + e.getMessage(), e);
        }
    }

    /** Whether the tests' server is the embedded PostgreSQL this JVM started (which a test may restart). */
    public static synchronized boolean isEmbedded() {
        server();
        return embeddedData != null;
    }

    /**
     * Restarts the embedded server as an administrator would ({@code pg_ctl restart -m fast}: open
     * sessions are terminated, a checkpoint, the same data, port and settings, from the
     * postmaster.opts its start left), and returns once it accepts connections again. Only the
     * embedded server of this JVM: PGHOST's server is never restarted here.
     */
    public static synchronized void restartEmbedded() {
        if (!isEmbedded()) {
            throw new IllegalStateException("restartEmbedded: the tests' server is not an embedded one of this JVM");
        }
        Path data = embeddedData;
        Path output = data.resolve("pgkeyset-restart.out");
        try {
            String opts = Files.readString(data.resolve("postmaster.opts"));
            // postmaster.opts: the postgres binary's path unquoted, then each argument in quotes.
            int firstArgument = opts.indexOf(" \"");
            if (firstArgument <= 0) {
                throw new IllegalStateException("restartEmbedded: no postgres binary in " + data
                        + "/postmaster.opts: " + opts);
            }
            Path pgCtl = Path.of(opts.substring(0, firstArgument)).resolveSibling("pg_ctl");
            List<String> command = new ArrayList<>();
            // As root, PostgreSQL refuses to run; Zonky starts and stops it in a user namespace of
            // its own (unshare -U), so the restart must go the same way.
            if (LinuxUtils.isUnshareAvailable()) {
                command.addAll(List.of("unshare", "-U"));
            }
            command.addAll(List.of(pgCtl.toString(), "-D", data.toString(), "-m", "fast", "-w", "-t", "60",
                    "-l", data.resolve("pgkeyset-restart.log").toString(), "restart"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            // The libpq variables may name another server: pg_ctl must not read them.
            builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
            Process process = builder.start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("restartEmbedded: pg_ctl restart did not finish within 120 s: "
                        + Files.readString(output));
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("restartEmbedded: " + command + " exited " + process.exitValue()
                        + ": " + Files.readString(output));
            }
        } catch (IOException e) {
            throw new IllegalStateException("restartEmbedded: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("restartEmbedded: interrupted", e);
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** A fresh database named after the test; drop it with {@link TestDatabase#close()}. */
    public static TestDatabase createDatabase(String purpose) {
        return createDatabase(purpose, "");
    }

    /** As {@link #createDatabase(String)}, with options of CREATE DATABASE (e.g. an ENCODING and TEMPLATE template0). */
    public static TestDatabase createDatabase(String purpose, String createOptions) {
        Server s = server();
        String name = "pgkeyset_" + purpose.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "_") + "_"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        try (Connection admin = adminConnection(s); Statement st = admin.createStatement()) {
            st.execute("CREATE DATABASE " + name + (createOptions.isEmpty() ? "" : " " + createOptions));
            for (String setting : databaseSettings(System.getenv("PGKEYSET_TEST_DATABASE_SETTINGS"))) {
                st.execute("ALTER DATABASE " + name + " SET " + setting);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create test database " + name + " on " + s.host() + ":"
                    + s.port() + " as " + s.user() + ": " + e.getMessage(), e);
        }
        return new TestDatabase(s, name);
    }

    /**
     * Settings every test database gets, from {@code PGKEYSET_TEST_DATABASE_SETTINGS}, e.g.
     * {@code timezone=America/New_York;default_transaction_isolation=repeatable read}: to run any
     * test class with the database in another zone or isolation (the JVM's zone follows {@code TZ}).
     */
    static List<String> databaseSettings(String spec) {
        List<String> settings = new ArrayList<>();
        if (spec != null) {
            for (String item : spec.split(";")) {
                int eq = item.indexOf('=');
                if (eq > 0) {
                    settings.add(item.substring(0, eq).strip() + " = '"
                            + item.substring(eq + 1).strip().replace("'", "''") + "'");
                }
            }
        }
        return settings;
    }

    static Connection adminConnection(Server s) throws SQLException {
        return DriverManager.getConnection(s.jdbcUrl("postgres"), credentials(s));
    }

    static Properties credentials(Server s) {
        Properties props = new Properties();
        props.setProperty("user", s.user());
        if (s.password() != null) {
            props.setProperty("password", s.password());
        }
        return props;
    }
}
