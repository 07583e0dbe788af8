package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Change-to-record latency: rows inserted at a steady rate (each its own transaction) while the
 * connector follows the table; latency is from the insert's commit (when the commit returned to
 * the writer) to the record reaching a consumer of the topic. Measuring starts once a probe row
 * has come through, so the connector's start-up is not counted as latency. Above 250 rows/s the
 * inserts are spread over several writer connections on one schedule (one connection waits for
 * its commit's WAL flush before its next insert).
 */
final class ChangeLatency {

    record Result(double p50Ms, double p99Ms, int rows, double achievedRowsPerSecond) {
    }

    private static final int ROWS_PER_WRITER = 250;

    private final BenchData data;
    private final EmbeddedConnectCluster connect;

    ChangeLatency(BenchData data, EmbeddedConnectCluster connect) {
        this.data = data;
        this.connect = connect;
    }

    /** Query-based changes: the tracking column {@code updated_at}, polled every {@code pollIntervalMs}. */
    static Map<String, String> queryMode(long pollIntervalMs) {
        return new HashMap<>(Map.of("snapshot.mode", "initial", "incremental.column", "updated_at",
                "poll.interval.ms", Long.toString(pollIntervalMs)));
    }

    /** Changes from the WAL: the connector creates the slot and publication ({@code replication} drops them). */
    static Map<String, String> walMode(String slot, String publication) {
        return new HashMap<>(Map.of("capture.mode", "wal", "snapshot.mode", "never", "slot.name", slot,
                "publication.name", publication, "publication.autocreate", "filtered"));
    }

    Result run(String name, Map<String, String> mode, int rowsPerSecond, Duration duration) throws Exception {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS bench_events");
            st.execute("CREATE TABLE bench_events (id bigserial PRIMARY KEY, payload text,"
                    + " updated_at timestamptz NOT NULL DEFAULT now())");
            st.execute("CREATE INDEX ON bench_events (updated_at, id)");
        }
        String topic = name + ".public.bench_events";
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.putAll(mode);
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\.bench_events");
        config.put("topic.prefix", name);
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        // Created up front so the reader can attach before the first change arrives.
        connect.kafka().createTopic(topic, 1);
        Map<Long, Long> committedAt = new ConcurrentHashMap<>();
        int total = (int) (rowsPerSecond * duration.toSeconds());
        List<Double> latencies = new ArrayList<>();
        int[] unmatched = {0};
        Writers writers = new Writers(rowsPerSecond, total, committedAt);
        try {
            connect.configureConnector(name, config);
            connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(name, 1, name + " connector");
            try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of(topic),
                    Map.of("fetch.max.wait.ms", 10))) {
                awaitProbe(reader, writers.probes);
                writers.start();
                reader.readUntil(() -> latencies.size() + unmatched[0] >= total, duration.plusMinutes(2), row -> {
                    long arrived = System.nanoTime();
                    long id = row.key().get("id").asLong();
                    Long committed = committedAt.get(id);
                    if (committed != null) {
                        latencies.add((arrived - committed) / 1e6);
                    } else if (!writers.probes.contains(id)) {
                        unmatched[0]++; // arrived before the writer noted its commit time: not measured
                    }
                });
            }
        } finally {
            writers.join();
            EndToEnd.remove(connect, name, topic);
        }
        return new Result(Stats.percentile(latencies, 50), Stats.percentile(latencies, 99), latencies.size(),
                writers.achievedRate());
    }

    /** Inserts a probe row every 200 ms until one reaches the topic: the connector then follows the table. */
    private void awaitProbe(TopicReader reader, Set<Long> probes) throws Exception {
        try (Connection c = data.connect();
             PreparedStatement insert = c.prepareStatement("INSERT INTO bench_events (payload) VALUES ('probe') RETURNING id")) {
            boolean[] seen = {false};
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (!seen[0]) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("No probe row reached the topic within 2 minutes");
                }
                try (ResultSet rs = insert.executeQuery()) {
                    rs.next();
                    probes.add(rs.getLong(1));
                }
                reader.readFor(Duration.ofMillis(200), row -> seen[0] = true);
            }
        }
    }

    /** The writer threads: change i is due at start + i / rate, taken by whichever writer is free. */
    private final class Writers {
        final Set<Long> probes = ConcurrentHashMap.newKeySet();
        private final int rowsPerSecond;
        private final int total;
        private final Map<Long, Long> committedAt;
        private final AtomicInteger next = new AtomicInteger();
        private final List<Thread> threads = new ArrayList<>();
        private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile long firstCommit;
        private final java.util.concurrent.atomic.AtomicLong lastCommit = new java.util.concurrent.atomic.AtomicLong();

        Writers(int rowsPerSecond, int total, Map<Long, Long> committedAt) {
            this.rowsPerSecond = rowsPerSecond;
            this.total = total;
            this.committedAt = committedAt;
        }

        void start() {
            long start = System.nanoTime();
            long interval = 1_000_000_000L / rowsPerSecond;
            int count = Math.max(1, (rowsPerSecond + ROWS_PER_WRITER - 1) / ROWS_PER_WRITER);
            for (int w = 0; w < count; w++) {
                Thread thread = new Thread(() -> write(start, interval), "latency-writer-" + w);
                threads.add(thread);
                thread.start();
            }
        }

        private void write(long start, long interval) {
            try (Connection c = data.connect();
                 PreparedStatement insert = c.prepareStatement("INSERT INTO bench_events (payload) VALUES ('x') RETURNING id")) {
                for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                    long sleep = start + i * interval - System.nanoTime();
                    if (sleep > 0) {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    }
                    try (ResultSet rs = insert.executeQuery()) {
                        rs.next();
                        long now = System.nanoTime();
                        committedAt.put(rs.getLong(1), now);
                        if (i == 0) {
                            firstCommit = now;
                        }
                        lastCommit.accumulateAndGet(now, Math::max);
                    }
                }
            } catch (Throwable e) {
                failures.add(e);
                throw new IllegalStateException(e);
            }
        }

        void join() throws InterruptedException {
            for (Thread thread : threads) {
                thread.join();
            }
            if (!failures.isEmpty()) {
                throw new IllegalStateException("A latency writer failed", failures.get(0));
            }
        }

        double achievedRate() {
            return (total - 1) / ((lastCommit.get() - firstCommit) / 1e9);
        }
    }
}
