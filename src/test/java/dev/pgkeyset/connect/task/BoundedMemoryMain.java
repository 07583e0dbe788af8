package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.data.Struct;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.TaskHarness;

/**
 * Run by {@link BoundedMemoryIT} in a JVM with a tiny heap. {@code task}: reads the table through
 * the connector's task and checks every key arrives once, in order. {@code naive}: loads the same
 * table the usual JDBC way (autocommit on, no fetch size), which buffers the whole result.
 * {@code task:<table>}: reads that table through the task with its defaults, checking each row's
 * {@code payload} arrives with the length PostgreSQL gives ({@code octet_length}).
 * Prints one line {@code rows=N} and exits 0, exits 3 on OutOfMemoryError, 4 when the task fails
 * (printing {@code task failed: <message>}).
 */
public final class BoundedMemoryMain {

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String url = args[1];
        String user = args[2];
        String password = args.length > 3 ? args[3] : null;
        try {
            long rows = mode.equals("discard") ? overTheLimitOnAPooledConnection(url, user, password)
                    : mode.equals("task") ? readWithTask(url, user, password)
                    : mode.startsWith("task:") ? readWideRows(mode.substring(5), url, user, password)
                    : readNaively(url, user, password);
            System.out.println("rows=" + rows + " maxHeapMiB=" + Runtime.getRuntime().maxMemory() / (1024 * 1024)
                    + " oldGenPeakMiB=" + oldGenerationPeak() / (1024 * 1024));
            System.exit(0);
        } catch (OutOfMemoryError e) {
            System.out.println("OutOfMemoryError: " + e.getMessage());
            System.exit(3);
        } catch (org.apache.kafka.connect.errors.ConnectException e) {
            System.out.println("task failed: " + e.getMessage());
            System.exit(4);
        }
    }

    /**
     * {@code discard}: a fetch over the task pool's maxResultBuffer on its only connection, which is
     * then discarded: the next connection of the pool is another backend, and answers. Prints
     * {@code discard: ...} and returns 1.
     */
    private static long overTheLimitOnAPooledConnection(String url, String user, String password) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", url);
        props.put("connection.user", user);
        if (password != null) {
            props.put("connection.password", password);
        }
        props.put("topic.prefix", "mem");
        props.put("table.include.list", "public\\.nothing");
        dev.pgkeyset.connect.config.PgKeysetConfig config = new dev.pgkeyset.connect.config.PgKeysetConfig(props);
        try (dev.pgkeyset.connect.pg.ConnectionFactory pool =
                     dev.pgkeyset.connect.pg.ConnectionFactory.forTask(config, "discard-test", 1)) {
            long limit = pool.resultBufferLimit();
            int first;
            String thrown = "nothing";
            Connection connection = pool.open();
            try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                first = rs.getInt(1);
            }
            // Rows of 1 MiB, as many as pass the limit, in one fetch.
            try (java.sql.PreparedStatement st = connection.prepareStatement(
                    "SELECT g, repeat('x', 1048576) FROM generate_series(1, ?) g")) {
                int rows = (int) (limit / 1048576) + 2;
                st.setInt(1, rows);
                st.setFetchSize(rows);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        // read
                    }
                }
            } catch (java.sql.SQLException e) {
                thrown = e.getSQLState() + " resultBufferExceeded="
                        + dev.pgkeyset.connect.pg.SqlErrors.isResultBufferExceeded(e);
            }
            pool.discard(connection);
            connection.close();
            try (Connection next = pool.open(); Statement st = next.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                System.out.println("discard: limit=" + limit + " thrown=" + thrown + " firstBackend=" + first
                        + " nextBackend=" + rs.getInt(1));
                next.rollback();
            }
        }
        return 1;
    }

    /** The most the tenured generation held (the heap's lasting part; the runs use the serial collector). */
    private static long oldGenerationPeak() {
        return java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getName().contains("Old Gen") || pool.getName().contains("Tenured"))
                .mapToLong(pool -> pool.getPeakUsage().getUsed()).sum();
    }

    /** Every row of {@code table} (key {@code id}, column {@code payload}) once, in order, payloads whole. */
    private static long readWideRows(String table, String url, String user, String password) throws Exception {
        Map<Long, Long> lengths = new HashMap<>();
        List<Long> expected = new ArrayList<>(); // in PostgreSQL's key order
        Properties credentials = new Properties();
        credentials.setProperty("user", user);
        if (password != null) {
            credentials.setProperty("password", password);
        }
        try (Connection c = DriverManager.getConnection(url, credentials); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, octet_length(payload) FROM " + table + " ORDER BY id")) {
            while (rs.next()) {
                lengths.put(rs.getLong(1), rs.getLong(2));
                expected.add(rs.getLong(1));
            }
        }
        Map<String, String> props = new HashMap<>();
        props.put("connector.class", PgKeysetSourceConnector.class.getName());
        props.put("connection.url", url);
        props.put("connection.user", user);
        if (password != null) {
            props.put("connection.password", password);
        }
        props.put("table.include.list", "public\\." + table);
        props.put("topic.prefix", "mem");
        props.put("snapshot.mode", "initial_only");
        props.put("poll.interval.ms", "10");
        // Only so that a run where fetches do run out of memory ends in seconds: a retried
        // out-of-memory would otherwise back off for minutes before failing.
        props.put("connection.attempts", "3");
        props.put("retry.backoff.ms", "100");
        List<Long> seen = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            harness.pollUntilIdle(record -> {
                Struct value = (Struct) record.value();
                long id = value.getInt64("id");
                long length = ((byte[]) value.get("payload")).length;
                if (!Long.valueOf(length).equals(lengths.get(id))) {
                    throw new IllegalStateException("row " + id + ": payload of " + length + " bytes, PostgreSQL has "
                            + lengths.get(id));
                }
                seen.add(id);
            });
        }
        if (!seen.equals(expected)) {
            throw new IllegalStateException("expected " + expected.size() + " ids in key order, once each; got "
                    + seen.size() + (seen.size() == expected.size() ? " (another order or a repeat)" : ""));
        }
        return seen.size();
    }

    private static long readWithTask(String url, String user, String password) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("connector.class", PgKeysetSourceConnector.class.getName());
        props.put("connection.url", url);
        props.put("connection.user", user);
        if (password != null) {
            props.put("connection.password", password);
        }
        props.put("table.include.list", "public\\.wide");
        props.put("topic.prefix", "mem");
        props.put("snapshot.mode", "initial_only");
        props.put("poll.interval.ms", "10");
        AtomicLong expectedId = new AtomicLong(1);
        try (TaskHarness harness = new TaskHarness(props).start()) {
            return harness.pollUntilIdle(record -> {
                long id = ((Struct) record.key()).getInt64("id");
                if (id != expectedId.getAndIncrement()) {
                    throw new IllegalStateException("expected id " + (expectedId.get() - 1) + ", got " + id);
                }
            });
        }
    }

    private static long readNaively(String url, String user, String password) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", user);
        if (password != null) {
            props.setProperty("password", password);
        }
        long rows = 0;
        try (Connection c = DriverManager.getConnection(url, props); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM wide ORDER BY id")) {
            while (rs.next()) {
                rows++;
            }
        }
        return rows;
    }
}
