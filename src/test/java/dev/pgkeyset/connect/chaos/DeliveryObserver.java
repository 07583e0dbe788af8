package dev.pgkeyset.connect.chaos;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

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
 * A consumer reading the connector's topics from their start for the whole run (with
 * {@code isolation.level=read_committed} under exactly-once), keeping per key what the checker
 * needs, in delivery order: the last state (a tombstone: deleted), the (version, op) pairs seen
 * (a pair seen again is a duplicate), and change records whose counter went down to a version
 * never delivered before (a regression: the row's history out of order). Snapshot reads
 * ({@code op=r}) are left out of the regression check: in wal mode the stream delivers, after
 * the snapshot, every change since the slot's position, older ones included.
 */
final class DeliveryObserver extends Thread implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one key's records said, in order. */
    static final class KeyHistory {
        Long lastV; // null: the last record was a tombstone
        String lastNote;
        long maxChangeV = Long.MIN_VALUE;
        boolean deletedByChange;
        final Set<Long> seen = new HashSet<>();
    }

    /** A (version, op) delivered again, and when. */
    record Duplicate(String topic, long id, long v, String op, long receivedAt) {
    }

    /** A change record whose counter went below one delivered before. */
    record Regression(String topic, long id, long v, long after) {
    }

    /** A change record read from the WAL: when the producer made it, and its transaction's commit LSN. */
    record WalDelivery(String topic, long id, long v, long producedAt, long commitLsn) {
    }

    /** A record read by a query: when the producer made it, its op and tracking value (ms; 0 for none). */
    record QueryDelivery(String topic, long id, long v, String op, long updatedAtMillis, long producedAt) {
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<String> topics;
    private final Map<String, Map<Long, KeyHistory>> keys = new HashMap<>();
    private final List<Duplicate> duplicates = new ArrayList<>();
    private final List<Regression> regressions = new ArrayList<>();
    private final List<WalDelivery> walDeliveries = new ArrayList<>();
    private final List<QueryDelivery> queryDeliveries = new ArrayList<>();
    /** (topic:id:v) → first receive time, for the lag. */
    private final Map<String, Long> firstDelivery = new HashMap<>();
    private long records;
    private volatile boolean stop;
    private volatile Throwable failure;

    DeliveryObserver(String bootstrapServers, List<String> topics, boolean readCommitted) {
        super("chaos-observer");
        setDaemon(true);
        Map<String, Object> props = new HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG, "chaos-observer-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted"));
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.topics = topics;
    }

    /**
     * Assigns the topics' partitions once the worker has created them (assigning, not
     * subscribing: a group rebalance as topics appear would rewind and read records twice,
     * inventing duplicates), then starts reading.
     */
    void startWhenTopicsExist(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : topics) {
            while (true) {
                List<PartitionInfo> infos = consumer.listTopics(Duration.ofSeconds(5)).get(topic);
                if (infos != null && !infos.isEmpty()) {
                    infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("topic " + topic + " was not created within " + timeout.toSeconds()
                            + " s: the connector delivered nothing to it");
                }
                Thread.sleep(200);
            }
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        start();
    }

    @Override
    public void run() {
        try {
            while (!stop) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    take(record, System.currentTimeMillis());
                }
            }
        } catch (Throwable e) {
            failure = e;
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    // Package-private: the checker's own test feeds it records without a broker.
    synchronized void take(ConsumerRecord<byte[], byte[]> record, long now) throws IOException {
        records++;
        long id = payload(record.key()).get("id").asLong();
        JsonNode value = record.value() == null ? null : payload(record.value());
        Header opHeader = record.headers().lastHeader("pgkeyset.op");
        String op = opHeader == null ? "?" : new String(opHeader.value(), java.nio.charset.StandardCharsets.UTF_8);
        KeyHistory history = keys.computeIfAbsent(record.topic(), t -> new HashMap<>())
                .computeIfAbsent(id, k -> new KeyHistory());
        long v = value == null ? Workload.DELETED : value.get("v").asLong();
        Header lsn = record.headers().lastHeader("pgkeyset.lsn");
        if (lsn != null && !"r".equals(op)) {
            walDeliveries.add(new WalDelivery(record.topic(), id, v, record.timestamp(), dev.pgkeyset.connect.offset
                    .WalOffset.parseLsn(new String(lsn.value(), java.nio.charset.StandardCharsets.UTF_8))));
        } else if (lsn == null && value != null && value.has("updated_at")) {
            queryDeliveries.add(new QueryDelivery(record.topic(), id, v, op, value.get("updated_at").asLong(),
                    record.timestamp()));
        }
        // The op decides whether a repeated version is a duplicate: a row's snapshot read and its
        // change at the same version are two different records the design sends (README hand-off).
        long seenKey = v * 4 + opCode(op);
        if (!history.seen.add(seenKey)) {
            duplicates.add(new Duplicate(record.topic(), id, v, op, now));
        } else if (!"r".equals(op)) {
            boolean regressed = value == null ? false
                    : history.deletedByChange || v < history.maxChangeV;
            if (regressed) {
                regressions.add(new Regression(record.topic(), id, v, history.deletedByChange ? Workload.DELETED
                        : history.maxChangeV));
            }
            if (value == null) {
                history.deletedByChange = true;
            } else {
                history.maxChangeV = Math.max(history.maxChangeV, v);
            }
            firstDelivery.putIfAbsent(record.topic() + ":" + id + ":" + v, now);
        } else {
            firstDelivery.putIfAbsent(record.topic() + ":" + id + ":" + v, now);
        }
        history.lastV = value == null ? null : v;
        history.lastNote = value == null ? null : value.get("note").asText();
    }

    private static int opCode(String op) {
        return switch (op) {
            case "r" -> 0;
            case "d" -> 2;
            default -> 1; // c and u: query mode sends u for both
        };
    }

    private static JsonNode payload(byte[] bytes) throws IOException {
        JsonNode envelope = JSON.readTree(bytes);
        JsonNode payload = envelope.get("payload");
        if (payload == null || payload.isNull()) {
            throw new IllegalStateException("a record without a payload: " + envelope);
        }
        return payload;
    }

    private void checkAlive() {
        if (failure != null) {
            throw new AssertionError("the observing consumer failed", failure);
        }
    }

    synchronized long records() {
        checkAlive();
        return records;
    }

    /**
     * Where {@code topic}'s last record per key differs from {@code rows} (the table as PostgreSQL
     * lists it): a key missing, a stale version or note, a deleted row without its tombstone.
     * Empty when the topic's final state equals the table.
     */
    synchronized List<String> differences(String topic, Map<Long, ChaosTables.RowState> rows) {
        checkAlive();
        List<String> differences = new ArrayList<>();
        Map<Long, KeyHistory> seen = keys.getOrDefault(topic, Map.of());
        rows.forEach((id, row) -> {
            KeyHistory history = seen.get(id);
            if (history == null) {
                differences.add(topic + " id " + id + ": never delivered (table v=" + row.v() + ")");
            } else if (history.lastV == null) {
                differences.add(topic + " id " + id + ": last record a tombstone, the row exists (v=" + row.v() + ")");
            } else if (history.lastV != row.v() || !row.note().equals(history.lastNote)) {
                differences.add(topic + " id " + id + ": last record v=" + history.lastV + " note=" + history.lastNote
                        + ", the table v=" + row.v() + " note=" + row.note());
            }
        });
        seen.forEach((id, history) -> {
            if (!rows.containsKey(id) && history.lastV != null) {
                differences.add(topic + " id " + id + ": deleted from the table, last record v=" + history.lastV
                        + " (no tombstone)");
            }
        });
        return differences;
    }

    synchronized List<Duplicate> duplicates() {
        return new ArrayList<>(duplicates);
    }

    synchronized List<Regression> regressions() {
        return new ArrayList<>(regressions);
    }

    /**
     * Change records produced before a commit LSN committed at least {@code margin} ms earlier
     * ({@link CommittedWalPositions}): re-sent from before the committed offset.
     */
    synchronized List<String> resentBeforeCommitted(CommittedWalPositions committed, long marginMillis) {
        List<String> found = new ArrayList<>();
        for (WalDelivery d : walDeliveries) {
            long floor = committed.committedAt(d.producedAt() - marginMillis);
            if (Long.compareUnsigned(d.commitLsn(), floor) < 0) {
                found.add(d.topic() + " id " + d.id() + " v=" + d.v() + " (commit LSN "
                        + dev.pgkeyset.connect.offset.WalOffset.formatLsn(d.commitLsn()) + ") produced at "
                        + d.producedAt() + ", after " + dev.pgkeyset.connect.offset.WalOffset.formatLsn(floor)
                        + " was committed");
            }
        }
        return found;
    }

    synchronized int walDeliveries() {
        return walDeliveries.size();
    }

    /**
     * Query mode: records produced before what was committed for their partition at least
     * {@code margin} ms earlier ({@link CommittedQueryPositions}): read again from before the
     * committed offset, or a snapshot started over.
     */
    synchronized List<String> resentBeforeCommitted(CommittedQueryPositions committed, long marginMillis) {
        List<String> found = new ArrayList<>();
        for (QueryDelivery d : queryDeliveries) {
            String table = d.topic().substring(d.topic().indexOf('.') + 1);
            String why = committed.beforeCommitted(table, d.id(), d.op(), d.updatedAtMillis(), d.producedAt(),
                    marginMillis);
            if (why != null) {
                found.add(d.topic() + " id " + d.id() + " v=" + d.v() + " op " + d.op() + " produced at "
                        + d.producedAt() + ": " + why);
            }
        }
        return found;
    }

    synchronized int queryDeliveries() {
        return queryDeliveries.size();
    }

    /** When (topic, id, v) was first received, or null. */
    synchronized Long firstDelivery(String topic, long id, long v) {
        return firstDelivery.get(topic + ":" + id + ":" + v);
    }

    /** Whether the change (topic, id, v) — v {@link Workload#DELETED} for a delete — was delivered as a change. */
    synchronized boolean changeDelivered(String topic, long id, long v) {
        KeyHistory history = keys.getOrDefault(topic, Map.of()).get(id);
        return history != null && history.seen.contains(v * 4 + (v == Workload.DELETED ? 2 : 1));
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        join(15_000);
    }
}
