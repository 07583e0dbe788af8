package dev.pgkeyset.quickstart;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.tables.TableDiscovery;

/**
 * Rows per captured table in PostgreSQL against records in its topic: a live line on a terminal
 * (rewritten in place), a plain line every five seconds otherwise.
 */
final class Progress implements AutoCloseable {

    private final Map<String, Long> expectedByTopic = new LinkedHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final boolean terminal = System.console() != null;
    private long delivered;
    private long lastDelivered;
    private double lastSeconds;
    private long lastPlainLine;

    Progress(String bootstrap, String topicPrefix, Map<String, Long> rowsByTopic) {
        expectedByTopic.putAll(rowsByTopic);
        consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Topic of every captured table, with the table's row count now. */
    static Map<String, Long> capturedTables(Map<String, String> connector) throws Exception {
        PgKeysetConfig config = new PgKeysetConfig(connector);
        Map<String, Long> rows = new LinkedHashMap<>();
        try (Connection db = ConnectionFactory.openOnce(config, 5)) {
            for (CapturedTable table : TableDiscovery.discover(db, config).captured()) {
                rows.put(config.topicFor(table.info().id()),
                        Quickstart.count(db, "SELECT count(*) FROM " + table.info().id().quoted()));
            }
            db.commit();
        }
        return rows;
    }

    void show(double seconds) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : expectedByTopic.keySet()) {
            partitions.add(new TopicPartition(topic, 0));
        }
        Map<TopicPartition, Long> ends;
        try {
            ends = consumer.endOffsets(partitions, Duration.ofSeconds(5));
        } catch (RuntimeException notYet) {
            ends = Map.of();
        }
        StringBuilder line = new StringBuilder();
        long total = 0;
        for (TopicPartition partition : partitions) {
            long records = ends.getOrDefault(partition, 0L);
            total += records;
            line.append(String.format("%s %,d/%,d  ", partition.topic(), records, expectedByTopic.get(partition.topic())));
        }
        delivered = total;
        double rate = seconds > lastSeconds ? (total - lastDelivered) / (seconds - lastSeconds) : 0;
        lastDelivered = total;
        lastSeconds = seconds;
        line.append(String.format("| %,.0f rows/s | %.0f s", rate, seconds));
        if (terminal) {
            System.out.print("\r" + line + "   ");
            System.out.flush();
        } else if (System.nanoTime() - lastPlainLine > 5_000_000_000L || caughtUp()) {
            lastPlainLine = System.nanoTime();
            System.out.println(line);
        }
    }

    boolean caughtUp() {
        return delivered > 0 && expectedByTopic.entrySet().stream().allMatch(e -> topicHolds(e.getKey(), e.getValue()));
    }

    private boolean topicHolds(String topic, long rows) {
        try {
            Long end = consumer.endOffsets(List.of(new TopicPartition(topic, 0)), Duration.ofSeconds(5))
                    .get(new TopicPartition(topic, 0));
            return end != null && end >= rows;
        } catch (RuntimeException notYet) {
            return false;
        }
    }

    long rows() {
        return expectedByTopic.values().stream().mapToLong(Long::longValue).sum();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
