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
        return ours(Map.of());
    }

    /** Producer settings for large batches (the worker's policy must allow overrides; Kafka's default does). */
    static final Map<String, String> PRODUCER_OVERRIDES = Map.of(
            "producer.override.linger.ms", "20",
            "producer.override.batch.size", "524288",
            "producer.override.compression.type", "lz4");

    /** This connector with extra connector settings (e.g. {@link #PRODUCER_OVERRIDES}). */
    double ours(Map<String, String> extra) throws Exception {
        String name = "ours-" + (++runs);
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.putAll(extra);
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

    /**
     * Debezium's PostgreSQL connector snapshotting the same table in the same worker, with the same
     * converters ({@code snapshot.mode=initial_only}, pgoutput). Needs {@code wal_level=logical}.
     */
    double debezium() throws Exception {
        String name = "debezium-" + (++runs);
        String slot = name.replace('-', '_');
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        config.put("database.hostname", data.server().host());
        config.put("database.port", Integer.toString(data.server().port()));
        config.put("database.user", data.server().user());
        if (data.server().password() != null) {
            config.put("database.password", data.server().password());
        }
        config.put("database.dbname", BenchData.DATABASE);
        config.put("topic.prefix", name);
        config.put("table.include.list", "public.pgbench_accounts");
        config.put("plugin.name", "pgoutput");
        config.put("slot.name", slot);
        config.put("slot.drop.on.stop", "true");
        config.put("publication.name", "pub_" + slot);
        config.put("publication.autocreate.mode", "filtered");
        config.put("snapshot.mode", "initial_only");
        try {
            return timeUntilTopicHoldsAll(name, config, name + ".public.pgbench_accounts");
        } finally {
            dropReplicationLeftovers(slot);
        }
    }

    /** The slot goes when the connector stops (slot.drop.on.stop); the publication stays: both are cleared here. */
    private void dropReplicationLeftovers(String slot) throws Exception {
        try (java.sql.Connection c = data.connect(); java.sql.Statement st = c.createStatement()) {
            st.execute("DROP PUBLICATION IF EXISTS pub_" + slot);
            for (int attempt = 0; attempt < 50; attempt++) {
                try (java.sql.ResultSet rs = st.executeQuery("SELECT active FROM pg_replication_slots WHERE slot_name = '"
                        + slot + "'")) {
                    if (!rs.next()) {
                        return;
                    }
                    if (!rs.getBoolean(1)) {
                        st.execute("SELECT pg_drop_replication_slot('" + slot + "')");
                        return;
                    }
                }
                Thread.sleep(200);
            }
        }
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
