package dev.pgkeyset.connect.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.offset.WalOffset;

/**
 * The history of the offsets Kafka Connect committed for a wal-mode connector's slot, read from
 * the workers' offsets topic at the end of a run: when (the offset record's timestamp) which
 * commit LSN was committed. It bounds re-delivery: a task resumes after the offset committed
 * before it started and then produces in WAL order, so a change record produced at time t belongs
 * to a transaction at or after the commit LSN committed before t. A record produced before a
 * position committed earlier was re-sent from before the committed offset, beyond what
 * at-least-once allows.
 */
final class CommittedWalPositions {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Offset-record time → the highest commit LSN committed up to then (unsigned order). */
    private final TreeMap<Long, Long> highestByTime = new TreeMap<>();

    /** Built from (time, commit LSN) pairs in any order; tests give them by hand. */
    CommittedWalPositions(List<long[]> commits) {
        List<long[]> sorted = new ArrayList<>(commits);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        long highest = 0;
        for (long[] commit : sorted) {
            if (Long.compareUnsigned(commit[1], highest) > 0) {
                highest = commit[1];
            }
            highestByTime.put(commit[0], highest);
        }
    }

    /** Reads every committed offset of {@code connector}'s slot partitions from the offsets topic. */
    static CommittedWalPositions read(String bootstrapServers, String offsetsTopic, String connector) {
        Map<String, Object> props = new HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG, "chaos-offsets-" + UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                // Under exactly-once the offsets are written in the records' transactions.
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
        List<long[]> commits = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(offsetsTopic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(info.topic(), info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the offsets topic " + offsetsTopic + " was not read within a minute");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    Long lsn = slotCommitLsn(record, connector);
                    if (lsn != null) {
                        commits.add(new long[] {record.timestamp(), lsn});
                    }
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new CommittedWalPositions(commits);
    }

    /** The commit LSN of an offset record of {@code connector}'s slot partition; null for any other. */
    private static Long slotCommitLsn(ConsumerRecord<byte[], byte[]> record, String connector)
            throws java.io.IOException {
        if (record.key() == null || record.value() == null) {
            return null; // a tombstone: an offset reset, never by the chaos run
        }
        JsonNode key = JSON.readTree(record.key());
        if (!key.isArray() || key.size() != 2 || !connector.equals(key.get(0).asText())
                || !key.get(1).has(WalOffset.SLOT)) {
            return null;
        }
        JsonNode lsn = JSON.readTree(record.value()).get(WalOffset.COMMIT_LSN);
        return lsn == null ? null : WalOffset.parseLsn(lsn.asText());
    }

    /** The highest commit LSN committed at or before {@code millis}; 0 when none was. */
    long committedAt(long millis) {
        Map.Entry<Long, Long> entry = highestByTime.floorEntry(millis);
        return entry == null ? 0 : entry.getValue();
    }

    int commits() {
        return highestByTime.size();
    }
}
