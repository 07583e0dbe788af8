package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.FreezingProxy;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The network between the task and PostgreSQL stops passing bytes without closing anything: each
 * poll must still return within a bound (stop() runs on the poll thread only then), stop() must
 * complete, and once the network works again the table resumes with nothing lost.
 */
class FrozenNetworkIT {

    private static final int ROWS = 2_000;
    /** Generous: the socket timeout of the test (2 s), the pool's connection timeout (5 s) and slack. */
    private static final Duration POLL_BOUND = Duration.ofSeconds(30);

    private TestDatabase db;
    private FreezingProxy proxy;
    private final ExecutorService caller = Executors.newSingleThreadExecutor();

    @BeforeEach
    void setUp() throws Exception {
        db = PostgresFixture.createDatabase("frozen_network");
        db.execute("CREATE TABLE t (id int PRIMARY KEY, note text)",
                "INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, " + ROWS + ") g");
        PostgresFixture.Server server = PostgresFixture.server();
        proxy = new FreezingProxy(server.host(), server.port());
    }

    @AfterEach
    void tearDown() throws Exception {
        caller.shutdownNow();
        proxy.close();
        db.close();
    }

    private Map<String, String> props() {
        Map<String, String> props = db.connectorConfig("f", "public\\.t");
        props.put("connection.url", "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name());
        props.put("connection.socket.timeout.ms", "2000");
        props.put("batch.max.rows", "50");
        props.put("fetch.size", "50");
        props.put("retry.backoff.ms", "100");
        props.put("retry.backoff.max.ms", "500");
        props.put("connection.attempts", "1000");
        return props;
    }

    private <T> T within(Duration bound, java.util.concurrent.Callable<T> call) throws Exception {
        Future<T> result = caller.submit(call);
        long start = System.nanoTime();
        try {
            return result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("still blocked after " + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
    }

    /**
     * validate() (the REST call behind a config check) and the connector's start (table
     * discovery) on a network frozen before they connect: each returns within the bound with a
     * message, rather than holding the worker's thread.
     */
    @Test
    void validateAndDiscoveryReturnWhileTheNetworkIsFrozen() throws Exception {
        proxy.freeze();
        org.apache.kafka.common.config.Config answer = within(POLL_BOUND,
                () -> new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(props()));
        String errors = answer.configValues().stream().flatMap(v -> v.errorMessages().stream()).toList().toString();
        System.out.println("frozen validate: " + errors);
        org.junit.jupiter.api.Assertions.assertTrue(errors.contains("Could not connect"), errors);
        String failure = within(POLL_BOUND, () -> {
            try {
                new dev.pgkeyset.connect.PgKeysetSourceConnector().start(props());
                return "started";
            } catch (org.apache.kafka.connect.errors.ConnectException e) {
                return e.getMessage();
            }
        });
        System.out.println("frozen start: " + failure);
        org.junit.jupiter.api.Assertions.assertTrue(failure.contains("Could not list the tables"), failure);
    }

    @Test
    void pollsReturnWhileTheNetworkIsFrozenAndNothingIsLost() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        TaskHarness harness = new TaskHarness(props()).start();
        try {
            for (int i = 0; i < 3; i++) {
                List<SourceRecord> batch = within(POLL_BOUND, harness::poll);
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            proxy.freeze();
            long frozenUntil = System.nanoTime() + Duration.ofSeconds(8).toNanos();
            int polls = 0;
            while (System.nanoTime() < frozenUntil) {
                List<SourceRecord> batch = within(POLL_BOUND, harness::poll);
                polls++;
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            System.out.println("polls returned while frozen: " + polls);
            proxy.thaw();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (ids(records).size() < ROWS && System.nanoTime() < deadline) {
                List<SourceRecord> batch = within(POLL_BOUND, harness::poll);
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            assertEquals(expectedIds(), new ArrayList<>(ids(records)), "every row, by PostgreSQL's own list");
            // Frozen again in the middle of nothing: stop() itself must not hang.
            proxy.freeze();
            within(POLL_BOUND, () -> {
                harness.stop();
                return null;
            });
        } finally {
            proxy.thaw();
            harness.close();
        }
    }

    private List<Integer> expectedIds() throws Exception {
        List<Integer> ids = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM t ORDER BY id")) {
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
        }
        return ids;
    }

    private static TreeSet<Integer> ids(List<SourceRecord> records) {
        TreeSet<Integer> ids = new TreeSet<>();
        records.forEach(r -> ids.add(((Struct) r.key()).getInt32("id")));
        return ids;
    }
}
