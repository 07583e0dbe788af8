package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
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
 * Prints one line {@code rows=N} and exits 0, or exits 3 on OutOfMemoryError.
 */
public final class BoundedMemoryMain {

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String url = args[1];
        String user = args[2];
        String password = args.length > 3 ? args[3] : null;
        try {
            long rows = mode.equals("task") ? readWithTask(url, user, password) : readNaively(url, user, password);
            System.out.println("rows=" + rows + " maxHeapMiB=" + Runtime.getRuntime().maxMemory() / (1024 * 1024));
            System.exit(0);
        } catch (OutOfMemoryError e) {
            System.out.println("OutOfMemoryError: " + e.getMessage());
            System.exit(3);
        }
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
