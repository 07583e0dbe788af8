package dev.pgkeyset.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import dev.pgkeyset.connect.testing.ConnectFixture;

/**
 * Rows per second through a real KRaft broker and a real distributed worker with JsonConverter
 * (schemas on), from registering a connector until its topic holds every row: our connector, and
 * the synthetic source that carries the same records without a database.
 */
final class EndToEnd implements AutoCloseable {

    private final BenchData data;
    private final EmbeddedConnectCluster connect;
    private int runs;

    EndToEnd(BenchData data) throws InterruptedException {
        this.data = data;
        Map<String, String> worker = new HashMap<>();
        worker.put("offset.flush.interval.ms", "5000");
        this.connect = ConnectFixture.start("bench", worker);
    }

    EmbeddedConnectCluster cluster() {
        return connect;
    }

    double ours() throws Exception {
        String name = "ours-" + (++runs);
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\.pgbench_accounts");
        config.put("topic.prefix", name);
        config.put("snapshot.mode", "initial_only");
        return timeUntilTopicHoldsAll(name, config, name + ".public.pgbench_accounts");
    }

    double synthetic() throws Exception {
        String name = "synthetic-" + (++runs);
        String topic = name + ".public.pgbench_accounts";
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", SyntheticSourceConnector.class.getName());
        config.put(SyntheticSourceConnector.ROWS, Long.toString(data.rows));
        config.put(SyntheticSourceConnector.TOPIC, topic);
        return timeUntilTopicHoldsAll(name, config, topic);
    }

    private double timeUntilTopicHoldsAll(String name, Map<String, String> config, String topic) throws Exception {
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        long start = System.nanoTime();
        connect.configureConnector(name, config);
        TopicPartition partition = new TopicPartition(topic, 0);
        long deadline = start + Duration.ofMinutes(30).toNanos();
        while (true) {
            long end;
            try {
                end = connect.kafka().endOffset(partition);
            } catch (Exception notYet) {
                end = 0;
            }
            if (end >= data.rows) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": topic holds " + end + " of " + data.rows + " rows");
            }
            Thread.sleep(100);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        connect.deleteConnector(name);
        connect.kafka().deleteTopic(topic);
        return data.rows / seconds;
    }

    @Override
    public void close() {
        connect.stop();
    }
}
