package dev.pgkeyset.quickstart;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * The quickstart's own PostgreSQL (Zonky's binaries, a child process): data in
 * {@code <data-dir>/postgres}, kept between runs so a re-run resumes on the same database and
 * offsets, with {@code wal_level=logical}. It listens on localhost at a port chosen on the first
 * run and remembered in {@code <data-dir>/postgres.port}, so the psql command it prints stays valid.
 */
final class EmbeddedPostgresServer implements AutoCloseable {

    static final String SUPERUSER = "postgres";
    static final String DATABASE = "postgres";

    private final EmbeddedPostgres postgres;
    private final Path dataDirectory;
    private final boolean created;

    private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path dataDirectory, boolean created) {
        this.postgres = postgres;
        this.dataDirectory = dataDirectory;
        this.created = created;
    }

    static Path dataDirectory(Path quickstartDataDir) {
        return quickstartDataDir.resolve("postgres");
    }

    static EmbeddedPostgresServer start(Path quickstartDataDir) throws Quickstart.Failure, IOException {
        Path data = dataDirectory(quickstartDataDir).toAbsolutePath();
        boolean created = !Files.exists(data.resolve("PG_VERSION"));
        // First: a server left running holds the remembered port, which would look taken.
        stopLeftOver(data);
        int port = port(quickstartDataDir);
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(data)
                    // Zonky's default deletes the data directory on close: the quickstart keeps it.
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setServerConfig("wal_level", "logical")
                    // Zonky's default is off; logical decoding reads only WAL already flushed, so a
                    // change committed asynchronously could stay unseen for a while.
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("max_replication_slots", "10")
                    .setServerConfig("max_wal_senders", "10")
                    .setPGStartupWait(java.time.Duration.ofSeconds(60))
                    .start();
            return new EmbeddedPostgresServer(postgres, data, created);
        } catch (IllegalStateException e) {
            // Zonky says "No Postgres binary found for <os> / <arch>" or "could not lock <dir>/epg-lock".
            throw new Quickstart.Failure("cannot start the embedded PostgreSQL in " + data + ": " + e.getMessage()
                    + hint(e), 1);
        }
    }

    /**
     * A postmaster still running on this data directory: the JVM of an earlier run was killed (its
     * shutdown hook never ran) and PostgreSQL, a daemon of its own, stayed up. It is stopped, so this
     * run can start the server as its child. A postmaster.pid whose process is gone is left to
     * PostgreSQL, which takes it over. One whose pid names a live process working elsewhere (the
     * server was killed with kill -9, or the machine restarted, and the pid was reused: maybe by
     * another PostgreSQL, the machine's or another quickstart's) is stale and removed: left there,
     * PostgreSQL would refuse to start, and Zonky's clean-up ({@code pg_ctl stop} on this data
     * directory) would signal that other process. One whose process cannot be looked at (another
     * user's) is left to PostgreSQL too: it cannot signal that process, so it takes the file over.
     */
    static void stopLeftOver(Path data) throws IOException, Quickstart.Failure {
        Path pidFile = data.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readAllLines(pidFile, StandardCharsets.US_ASCII).get(0).strip());
        } catch (RuntimeException unreadable) {
            return;
        }
        java.util.Optional<ProcessHandle> live = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (live.isEmpty()) {
            return;
        }
        // Without /proc (macOS) the working directory cannot be read: a live postgres is taken for
        // the leftover, as before /proc was asked.
        java.util.Optional<Boolean> here = Files.isDirectory(Path.of("/proc/self")) ? worksIn(pid, data)
                : java.util.Optional.of(true);
        if (here.isEmpty()) {
            // Another user's process (root can look at every one): PostgreSQL cannot signal it either,
            // so it takes the lock file over, and pg_ctl stop cannot reach that process.
            return;
        }
        if (!here.get()) {
            Files.delete(pidFile);
            System.out.println("removed a stale " + pidFile + " (its pid " + pid + " is another process now)");
            return;
        }
        java.util.Optional<ProcessHandle> postmaster = live
                .filter(p -> p.info().command().map(c -> c.endsWith("/postgres")).orElse(false));
        if (postmaster.isEmpty()) {
            throw new Quickstart.Failure(pidFile + " names pid " + pid + ", a process working in " + data
                    + " that is not postgres: stop it, then start again", 1);
        }
        // SIGTERM, PostgreSQL's smart shutdown: it waits for open sessions, and the killed run's are gone.
        postmaster.get().destroy();
        try {
            postmaster.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            throw new Quickstart.Failure("the embedded PostgreSQL that an earlier run left running (pid " + pid
                    + ") did not stop within 30 s (a psql session still open?): stop it, then start again", 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Quickstart.Failure("interrupted while stopping the embedded PostgreSQL (pid " + pid + ")", 1);
        }
        System.out.println("stopped the embedded PostgreSQL (pid " + pid + ") that an earlier run left running");
    }

    /**
     * Whether the process works in {@code data}: a postmaster makes its data directory its working
     * directory (so do its backends). Empty when that cannot be read.
     */
    static java.util.Optional<Boolean> worksIn(long pid, Path data) {
        try {
            Path cwd = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"));
            return java.util.Optional.of(Files.isSameFile(cwd, data));
        } catch (IOException | UnsupportedOperationException | SecurityException unreadable) {
            return java.util.Optional.empty();
        }
    }

    private static String hint(IllegalStateException e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("No Postgres binary")) {
            return " (this jar carries PostgreSQL for Linux x86-64 only; set PGHOST to a PostgreSQL of yours)";
        }
        if (message.contains("lock")) {
            return " (is another quickstart running on this --data-dir?)";
        }
        return " (see quickstart.log in the data directory)";
    }

    /** The remembered port while it is free; otherwise (first run, or taken since) a free one, remembered. */
    private static int port(Path quickstartDataDir) throws IOException {
        Path file = quickstartDataDir.resolve("postgres.port");
        if (Files.exists(file)) {
            try {
                int remembered = Integer.parseInt(Files.readString(file, StandardCharsets.UTF_8).strip());
                if (free(remembered)) {
                    return remembered;
                }
            } catch (NumberFormatException corrupt) {
                // fall through: choose a new port
            }
        }
        int chosen;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            chosen = socket.getLocalPort();
        }
        Files.createDirectories(quickstartDataDir);
        Files.writeString(file, chosen + "\n", StandardCharsets.UTF_8);
        return chosen;
    }

    private static boolean free(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    PostgresTarget target() {
        return new PostgresTarget("localhost", postgres.getPort(), DATABASE, SUPERUSER, null);
    }

    /** True when this run made the data directory (initdb); false when it resumed an earlier run's. */
    boolean created() {
        return created;
    }

    Path dataDirectory() {
        return dataDirectory;
    }

    String version() throws SQLException {
        try (Connection db = postgres.getPostgresDatabase().getConnection();
             Statement st = db.createStatement();
             ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
