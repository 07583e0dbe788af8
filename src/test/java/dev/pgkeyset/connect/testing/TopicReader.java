package dev.pgkeyset.connect.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads topics written with JsonConverter (schemas on) record by record, so a test can check
 * hundreds of thousands of rows without holding them all.
 */
public final class TopicReader implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    /**
     * One record: key and value payloads (value null for a tombstone), the op header, every
     * header as text, the record's partition and offset, and the schemas JsonConverter wrote
     * beside key and value (null where none).
     */
    public record Row(String topic, JsonNode key, JsonNode value, String op, Map<String, String> headers,
                      int partition, long offset, JsonNode keySchema, JsonNode valueSchema) {

        public Row(String topic, JsonNode key, JsonNode value, String op) {
            this(topic, key, value, op, Map.of(), 0, -1, null, null);
        }

        public String header(String name) {
            return headers.get(name);
        }
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Long> recordsPerTopic = new java.util.TreeMap<>();

    public TopicReader(String bootstrapServers, List<String> topics) {
        this(bootstrapServers, topics, Map.of());
    }

    public TopicReader(String bootstrapServers, List<String> topics, Map<String, Object> extra) {
        Map<String, Object> props = new java.util.HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000));
        props.putAll(extra);
        consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.assign(partitionsOnceCreated(topics, Duration.ofMinutes(2)));
    }

    /**
     * Waits for the topics (the worker creates them as the first records arrive) and returns their
     * partitions. Assigning instead of subscribing: a group rebalance as topics appear would
     * rewind to the earliest offset and read records twice, hiding real duplicates in noise.
     */
    private List<TopicPartition> partitionsOnceCreated(List<String> topics, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<TopicPartition> partitions = new java.util.ArrayList<>();
        for (String topic : topics) {
            while (true) {
                List<PartitionInfo> infos = consumer.listTopics(Duration.ofSeconds(5)).get(topic);
                if (infos != null && !infos.isEmpty()) {
                    infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("Topic " + topic + " was not created within " + timeout.toSeconds() + " s");
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted", e);
                }
            }
        }
        return partitions;
    }

    /** Hands every record to {@code each} until {@code done} holds; fails after {@code timeout}. */
    public void readUntil(BooleanSupplier done, Duration timeout, Consumer<Row> each) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout.toSeconds() + " s reading "
                        + consumer.assignment() + "; records read so far: " + recordsPerTopic);
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                each.accept(decode(record));
            }
        }
    }

    /** Reads whatever arrives within {@code quiet} (e.g. to make sure nothing more comes). */
    public void readFor(Duration quiet, Consumer<Row> each) {
        long end = System.nanoTime() + quiet.toNanos();
        while (System.nanoTime() < end) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                each.accept(decode(record));
            }
        }
    }

    /** The offset the next record written to {@code topic}'s partition {@code partition} will get. */
    public long endOffset(String topic, int partition) {
        TopicPartition tp = new TopicPartition(topic, partition);
        return consumer.endOffsets(List.of(tp)).get(tp);
    }

    private Row decode(ConsumerRecord<byte[], byte[]> record) {
        recordsPerTopic.merge(record.topic(), 1L, Long::sum);
        Header op = record.headers().lastHeader("pgkeyset.op");
        Map<String, String> headers = new java.util.HashMap<>();
        for (Header header : record.headers()) {
            headers.put(header.key(), header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8));
        }
        JsonNode key = json(record.key()), value = json(record.value());
        return new Row(record.topic(), part(key, "payload"), part(value, "payload"),
                op == null ? null : new String(op.value(), StandardCharsets.UTF_8), headers, record.partition(),
                record.offset(), part(key, "schema"), part(value, "schema"));
    }

    private static JsonNode json(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return JSON.readTree(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The payload or the schema of JsonConverter's {@code {"schema": ..., "payload": ...}}. */
    private static JsonNode part(JsonNode converted, String name) {
        JsonNode part = converted == null ? null : converted.get(name);
        return part == null || part.isNull() ? null : part;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
