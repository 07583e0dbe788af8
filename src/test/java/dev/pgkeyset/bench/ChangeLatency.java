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
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import dev.pgkeyset.connect.testing.TopicReader;

/**
 * Change-to-record latency: rows inserted at a steady rate (each its own transaction) while the
 * connector follows the table; latency is from the insert's commit to the record reaching a
 * consumer of the topic.
 */
final class ChangeLatency {

    record Result(double p50Ms, double p99Ms, int rows, long pollIntervalMs) {
    }

    private final BenchData data;
    private final EmbeddedConnectCluster connect;

    ChangeLatency(BenchData data, EmbeddedConnectCluster connect) {
        this.data = data;
        this.connect = connect;
    }

    Result run(int rowsPerSecond, Duration duration, long pollIntervalMs) throws Exception {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS bench_events");
            st.execute("CREATE TABLE bench_events (id bigserial PRIMARY KEY, payload text,"
                    + " updated_at timestamptz NOT NULL DEFAULT now())");
            st.execute("CREATE INDEX ON bench_events (updated_at, id)");
        }
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\.bench_events");
        config.put("topic.prefix", "latency");
        config.put("snapshot.mode", "initial");
        config.put("incremental.column", "updated_at");
        config.put("poll.interval.ms", Long.toString(pollIntervalMs));
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        // Created up front so the reader can attach before the first change arrives.
        connect.kafka().createTopic("latency.public.bench_events", 1);
        connect.configureConnector("latency", config);
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning("latency", 1, "latency connector");

        Map<Long, Long> committedAt = new ConcurrentHashMap<>();
        int total = (int) (rowsPerSecond * duration.toSeconds());
        Thread writer = new Thread(() -> {
            try (Connection c = data.connect();
                 PreparedStatement insert = c.prepareStatement("INSERT INTO bench_events (payload) VALUES ('x') RETURNING id")) {
                long interval = 1_000_000_000L / rowsPerSecond;
                long next = System.nanoTime();
                for (int i = 0; i < total; i++) {
                    try (ResultSet rs = insert.executeQuery()) {
                        rs.next();
                        committedAt.put(rs.getLong(1), System.nanoTime());
                    }
                    next += interval;
                    long sleep = next - System.nanoTime();
                    if (sleep > 0) {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "latency-writer");
        List<Double> latencies = new ArrayList<>();
        int[] unmatched = {0};
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(), List.of("latency.public.bench_events"),
                Map.of("fetch.max.wait.ms", 10))) {
            writer.start();
            reader.readUntil(() -> latencies.size() + unmatched[0] >= total, duration.plusMinutes(2), row -> {
                long arrived = System.nanoTime();
                Long committed = committedAt.get(row.key().get("id").asLong());
                if (committed != null) {
                    latencies.add((arrived - committed) / 1e6);
                } else {
                    unmatched[0]++; // arrived before the writer noted its commit time: not measured
                }
            });
        } finally {
            writer.join();
            connect.deleteConnector("latency");
        }
        return new Result(Stats.percentile(latencies, 50), Stats.percentile(latencies, 99), latencies.size(),
                pollIntervalMs);
    }
}
