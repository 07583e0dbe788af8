package dev.pgkeyset.connect.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster of the test's own, for faults the shared server must never
 * see: restarts, crashes, slots invalidated by {@code max_slot_wal_keep_size}. Made with this
 * machine's binaries ({@code pg_config --bindir}, else the newest /usr/lib/postgresql/N/bin) by
 * initdb into a temporary directory, on a free port of 127.0.0.1 only (no Unix socket, so
 * nothing else can reach it by accident), trust authentication, superuser {@code postgres},
 * {@code wal_level=logical} and 1 MB WAL segments, so a few MB of WAL fill segments and a
 * checkpoint can remove them. {@code fsync=off}: the cluster lives for one test class.
 *
 * <p>initdb and the server refuse to run as root: as root, every binary runs as the OS user
 * {@code postgres} (runuser), which then owns the directory. Missing binaries, a missing
 * {@code postgres} user or a server that does not start fail at once, with the reason and the
 * server's log; a test never skips for it. {@link #close()} stops the server with
 * {@code -m immediate} and deletes the directory, also from a JVM shutdown hook if a test
 * never got to close it.
 */
public final class PrivateCluster implements AutoCloseable {

    /** How pg_ctl stops the server: {@code fast} (clean shutdown, checkpoint) or {@code immediate} (a crash). */
    public enum StopMode {
        FAST, IMMEDIATE;

        String flag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final String OS_USER = "postgres";
    private static final long COMMAND_TIMEOUT_SECONDS = 90;

    private final Path bin;
    private final Path base;
    private final Path data;
    private final Path log;
    private final int port;
    private final boolean asOtherUser;
    private final PostgresFixture.Server server;
    private final Thread cleanupOnExit;
    private boolean closed;

    private PrivateCluster(Path bin, Path base, int port, boolean asOtherUser) {
        this.bin = bin;
        this.base = base;
        this.data = base.resolve("data");
        this.log = base.resolve("server.log");
        this.port = port;
        this.asOtherUser = asOtherUser;
        this.server = new PostgresFixture.Server("127.0.0.1", port, "postgres", null);
        this.cleanupOnExit = new Thread(this::destroy, "private-cluster-cleanup-" + port);
    }

    /**
     * Creates and starts a cluster with the fixture's settings and {@code settings} on top (e.g.
     * {@code max_slot_wal_keep_size=2MB}), written to postgresql.conf.
     */
    public static PrivateCluster start(Map<String, String> settings) {
        Path bin = binaries();
        boolean root = "root".equals(System.getProperty("user.name"));
        Path base;
        try {
            base = Files.createTempDirectory("pgkeyset-cluster-");
            if (root) {
                giveTo(base, OS_USER);
            }
        } catch (IOException e) {
            throw new IllegalStateException("PrivateCluster: could not create its directory: " + e.getMessage(), e);
        }
        PrivateCluster cluster = new PrivateCluster(bin, base, freePort(), root);
        Runtime.getRuntime().addShutdownHook(cluster.cleanupOnExit);
        try {
            cluster.run(List.of(bin.resolve("initdb").toString(), "-D", cluster.data.toString(), "-U", "postgres",
                    "-A", "trust", "-E", "UTF8", "--locale=C", "--wal-segsize=1", "--no-sync"), "initdb");
            cluster.writeSettings(settings);
            cluster.start();
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    private void writeSettings(Map<String, String> extra) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("listen_addresses", "'127.0.0.1'");
        conf.put("port", String.valueOf(port));
        // No socket in /var/run/postgresql, where the shared server's lives.
        conf.put("unix_socket_directories", "''");
        conf.put("wal_level", "logical");
        conf.put("max_replication_slots", "10");
        conf.put("max_wal_senders", "10");
        conf.put("max_connections", "60");
        conf.put("shared_buffers", "32MB");
        conf.put("fsync", "off");
        conf.put("min_wal_size", "4MB");
        conf.put("max_wal_size", "64MB");
        conf.put("wal_keep_size", "0");
        conf.put("log_line_prefix", "'%m [%p] '");
        conf.putAll(extra);
        StringBuilder text = new StringBuilder("\n# PrivateCluster\n");
        conf.forEach((name, value) -> text.append(name).append(" = ").append(value).append('\n'));
        try {
            Files.writeString(data.resolve("postgresql.conf"), text, StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    /** The server, for TestDatabase and the JDBC URL. */
    public PostgresFixture.Server server() {
        return server;
    }

    /** A new database on this cluster; it goes with the cluster (no need to close it). */
    public TestDatabase createDatabase(String purpose) {
        String name = "pgkeyset_" + purpose.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "_") + "_"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        try (Connection admin = PostgresFixture.adminConnection(server); Statement st = admin.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("PrivateCluster: could not create database " + name + ": "
                    + e.getMessage(), e);
        }
        return new TestDatabase(server, name);
    }

    /** Starts the (stopped) server and waits until it accepts connections. */
    public void start() {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", log.toString(), "-w", "-t", "60",
                "start"), "pg_ctl start");
    }

    /** Stops the server: {@code fast} as an administrator would, {@code immediate} as a crash. */
    public void stop(StopMode mode) {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", mode.flag(), "-w", "-t", "60",
                "stop"), "pg_ctl stop -m " + mode.flag());
    }

    /** Stops the server in {@code mode} and starts it again on the same port. */
    public void restart(StopMode mode) {
        stop(mode);
        start();
    }

    /** The server's log so far, to assert on or to print when a test fails. */
    public String serverLog() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(could not read " + log + ": " + e.getMessage() + ")";
        }
    }

    /** Stops the server at once (-m immediate) if it runs, and deletes the cluster's directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        destroy();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }

    private synchronized void destroy() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                stop(StopMode.IMMEDIATE);
            }
        } catch (RuntimeException e) {
            System.err.println("PrivateCluster: " + e.getMessage());
        } finally {
            deleteTree(base);
        }
    }

    /** Runs a binary (as the postgres OS user when this JVM is root); fails with its output unless it exits 0. */
    private void run(List<String> command, String what) {
        List<String> full = new ArrayList<>();
        if (asOtherUser) {
            full.addAll(List.of("runuser", "-u", OS_USER, "--"));
        }
        full.addAll(command);
        Path output = base.resolve("command.out");
        ProcessBuilder builder = new ProcessBuilder(full).directory(base.toFile())
                .redirectErrorStream(true).redirectOutput(output.toFile());
        // The libpq variables name the shared server: the binaries must not read them (the
        // server takes PGPORT as its default port, pg_ctl PGDATA as its directory).
        builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
        builder.environment().put("LC_ALL", "C");
        int exit;
        try {
            Process process = builder.start();
            if (!process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("PrivateCluster: " + what + " did not finish within "
                        + COMMAND_TIMEOUT_SECONDS + " s" + diagnostics(output));
            }
            exit = process.exitValue();
        } catch (IOException e) {
            throw new IllegalStateException("PrivateCluster: could not run " + full + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("PrivateCluster: interrupted running " + what, e);
        }
        if (exit != 0) {
            throw new IllegalStateException("PrivateCluster: " + what + " failed (exit " + exit + "): " + full
                    + diagnostics(output));
        }
    }

    private String diagnostics(Path output) {
        String out;
        try {
            out = Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            out = "";
        }
        String serverLog = serverLog();
        return "\n--- output ---\n" + out.strip() + (serverLog.isEmpty() ? ""
                : "\n--- server log (last lines) ---\n" + tail(serverLog, 30));
    }

    private static String tail(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** The directory of initdb, pg_ctl and postgres: pg_config's, else the newest under /usr/lib/postgresql. */
    static Path binaries() {
        List<Path> candidates = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("pg_config", "--bindir").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()) {
                candidates.add(Path.of(out));
            }
        } catch (IOException e) {
            // no pg_config on the PATH
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> versions = Files.list(lib)) {
                versions.filter(v -> v.getFileName().toString().matches("\\d+"))
                        .sorted(Comparator.comparingInt((Path v) -> Integer.parseInt(v.getFileName().toString()))
                                .reversed())
                        .forEach(v -> candidates.add(v.resolve("bin")));
            } catch (IOException e) {
                // nothing there
            }
        }
        for (Path dir : candidates) {
            if (Stream.of("initdb", "pg_ctl", "postgres").allMatch(b -> Files.isExecutable(dir.resolve(b)))) {
                return dir;
            }
        }
        // Skipped, not failed: on a machine with only a JDK (the embedded PostgreSQL's case) these few
        // tests cannot run, and the rest of `mvn verify` should still pass; the report says why.
        return org.junit.jupiter.api.Assumptions.abort("PrivateCluster needs PostgreSQL's server binaries (initdb, "
                + "pg_ctl, postgres) on this machine; looked in " + candidates + " (pg_config --bindir, "
                + "/usr/lib/postgresql/<version>/bin). Install the server package, e.g. apt-get install postgresql-15.");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("PrivateCluster: no free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    private static void giveTo(Path dir, String userName) throws IOException {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal user;
        GroupPrincipal group;
        try {
            user = users.lookupPrincipalByName(userName);
            group = users.lookupPrincipalByGroupName(userName);
        } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
            throw new IllegalStateException("PrivateCluster runs as root, and initdb refuses root: it needs an OS user '"
                    + userName + "' (and group) to run the server as, e.g. the one the postgresql package creates", e);
        }
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        view.setOwner(user);
        view.setGroup(group);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException | UncheckedIOException e) {
            System.err.println("PrivateCluster: could not delete " + root + ": " + e.getMessage());
        }
    }
}
