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
    private int lastLineLength;
    private boolean stopped;
    private volatile Map<String, Long> lastEnds = Map.of();

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
        Map<String, Long> seen = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            seen.put(partition.topic(), ends.getOrDefault(partition, 0L));
        }
        lastEnds = seen;
        double rate = seconds > lastSeconds ? (total - lastDelivered) / (seconds - lastSeconds) : 0;
        lastDelivered = total;
        lastSeconds = seconds;
        line.append(String.format("| %,.0f rows/s | %.0f s", rate, seconds));
        boolean plainLineDue = !terminal && (System.nanoTime() - lastPlainLine > 5_000_000_000L || caughtUp());
        synchronized (this) {
            if (stopped) {
                return;
            }
            if (terminal) {
                // Pad over the previous line when this one is shorter, so no stale characters remain.
                String text = line.toString();
                System.out.print("\r" + text + " ".repeat(Math.max(0, lastLineLength - text.length())));
                lastLineLength = text.length();
                System.out.flush();
            } else if (plainLineDue) {
                lastPlainLine = System.nanoTime();
                System.out.println(line);
            }
        }
    }

    /** No progress line after this (the shutdown summary comes last); then {@link #lastCounts()}. */
    synchronized String stopShowing() {
        stopped = true;
        return lastCounts();
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

    /** Records per topic as last shown, against the rows counted at the start; nothing is asked of Kafka. */
    String lastCounts() {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, Long> topic : expectedByTopic.entrySet()) {
            if (!text.isEmpty()) {
                text.append("; ");
            }
            text.append(String.format("%s holds %,d records (table: %,d rows at the start)", topic.getKey(),
                    lastEnds.getOrDefault(topic.getKey(), 0L), topic.getValue()));
        }
        return text.toString();
    }

    long rows() {
        return expectedByTopic.values().stream().mapToLong(Long::longValue).sum();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
