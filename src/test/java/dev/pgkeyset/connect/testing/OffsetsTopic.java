package dev.pgkeyset.connect.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A Connect cluster's offsets topic read directly: what a restarted task will find there, to the
 * last record written, even of a worker killed a moment ago (its REST API is gone with it).
 * Records are keyed {@code ["<connector>", {partition}]}; the latest value per key wins.
 */
public final class OffsetsTopic implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaConsumer<String, String> consumer;
    private final String connector;
    /** Latest offset per source partition (as JSON text) of {@link #connector}; null after a tombstone. */
    private final Map<String, JsonNode> latest = new HashMap<>();
    /** Every offset of {@link #connector} read, in topic order, with its record's timestamp. */
    private final List<Committed> history = new java.util.ArrayList<>();

    /** One offset record: its source partition, offset (null for a tombstone) and the time it was written. */
    public record Committed(JsonNode partition, JsonNode offset, long timestamp) {
    }

    /** Opens the topic; waits for it to exist (the first worker creates it). */
    public OffsetsTopic(String bootstrapServers, String topic, String connector) throws InterruptedException {
        this(bootstrapServers, topic, connector, false);
    }

    /**
     * @param committedOnly read with isolation.level=read_committed: an exactly-once worker writes
     *                      its offsets in the records' transactions, and only a committed one counts
     */
    public OffsetsTopic(String bootstrapServers, String topic, String connector, boolean committedOnly)
            throws InterruptedException {
        this.connector = connector;
        consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, committedOnly ? "read_committed" : "read_uncommitted"),
                new StringDeserializer(), new StringDeserializer());
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        List<PartitionInfo> infos;
        while ((infos = consumer.listTopics(Duration.ofSeconds(5)).get(topic)) == null || infos.isEmpty()) {
            if (System.nanoTime() > deadline) {
                consumer.close();
                throw new AssertionError("offsets topic " + topic + " not created within 1 minute");
            }
            Thread.sleep(200);
        }
        List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    /** Reads up to the topic's current end and returns the connector's latest offset per partition. */
    public Map<JsonNode, JsonNode> read() {
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("could not read the offsets topic to its end " + end);
            }
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                JsonNode key = parse(record.key());
                if (key != null && key.isArray() && connector.equals(key.get(0).asText())) {
                    JsonNode offset = record.value() == null ? null : parse(record.value());
                    latest.put(key.get(1).toString(), offset);
                    history.add(new Committed(key.get(1), offset, record.timestamp()));
                }
            }
        }
        Map<JsonNode, JsonNode> offsets = new HashMap<>();
        latest.forEach((partition, offset) -> {
            if (offset != null) {
                offsets.put(parse(partition), offset);
            }
        });
        return offsets;
    }

    /** Reads up to the topic's current end and returns every offset of the connector written so far, in order. */
    public List<Committed> history() {
        read();
        return List.copyOf(history);
    }

    /** The latest offset of the partition that has {@code field} = {@code value}, or null. */
    public JsonNode offsetOf(String field, String value) {
        for (Map.Entry<JsonNode, JsonNode> entry : read().entrySet()) {
            if (entry.getKey().has(field) && value.equals(entry.getKey().get(field).asText())) {
                return entry.getValue();
            }
        }
        return null;
    }

    private static JsonNode parse(String text) {
        if (text == null) {
            return null;
        }
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        consumer.close();
    }
}
