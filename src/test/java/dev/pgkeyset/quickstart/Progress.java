package dev.pgkeyset.quickstart;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.tables.TableDiscovery;

/**
 * What the captured topics hold, read from Kafka as a consumer would: snapshot records
 * ({@code pgkeyset.op=r}) against the rows counted at the start, and change records apart from
 * them. A live line on a terminal (redrawn in place, cleared to its end), a plain line every five
 * seconds otherwise; the first record is shown once, as a sample.
 */
final class Progress implements AutoCloseable {

    private static final String OP_HEADER = "pgkeyset.op";
    private static final long PLAIN_LINE_NANOS = 5_000_000_000L;

    private final Map<String, Long> expectedByTopic = new LinkedHashMap<>();
    private final Map<String, Long> snapshotByTopic = new HashMap<>();
    private final Map<String, Long> changesByTopic = new HashMap<>();
    private final Map<String, Long> recordsByTopic = new HashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final WorkerGauges gauges;
    private final boolean terminal = System.console() != null;
    private final int width = ProgressLine.terminalWidth(System.getenv("COLUMNS"));
    private long snapshotAtStart = -1;
    private double snapshotStartSeconds;
    private long lastSnapshot;
    private double lastSeconds;
    private long lastPlainLine;
    private boolean sampleShown;
    private boolean caughtUpShown;
    private boolean stopped;
    private volatile String lastCounts = "";

    Progress(String bootstrap, Map<String, Long> rowsByTopic, WorkerGauges gauges) {
        expectedByTopic.putAll(rowsByTopic);
        this.gauges = gauges;
        consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : expectedByTopic.keySet()) {
            partitions.add(new TopicPartition(topic, 0));
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
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

    /** Reads what arrived since the last call (at most about a second of it) and shows the line. */
    void show(double seconds) {
        ConsumerRecord<byte[], byte[]> first = readNewRecords();
        long snapshot = sum(snapshotByTopic);
        if (snapshotAtStart < 0) {
            snapshotAtStart = snapshot;
            snapshotStartSeconds = seconds;
        }
        double rate = seconds > lastSeconds ? (snapshot - lastSnapshot) / (seconds - lastSeconds) : 0;
        double average = seconds > snapshotStartSeconds ? (snapshot - snapshotAtStart) / (seconds - snapshotStartSeconds)
                : 0;
        long left = Math.max(0, rows() - snapshot);
        double eta = average > 0 ? left / average : -1;
        lastSnapshot = snapshot;
        lastSeconds = seconds;
        String text = ProgressLine.format(snapshot, rows(), snapshotDone(), rate, eta, sum(changesByTopic),
                gauges.lag(), terminal ? width : Integer.MAX_VALUE);
        lastCounts = String.format("%,d snapshot records of %,d rows counted at the start, %,d changes", snapshot,
                rows(), sum(changesByTopic));
        synchronized (this) {
            if (stopped) {
                return;
            }
            if (first != null && !sampleShown) {
                sampleShown = true;
                if (terminal) {
                    System.out.print("\r" + ProgressLine.CLEAR_TO_END);
                }
                System.out.println(SampleRecord.describe(first));
            }
            if (terminal) {
                System.out.print(ProgressLine.redraw(text));
                System.out.flush();
            } else {
                boolean caughtUp = caughtUp();
                if (plainLineDue(System.nanoTime() - lastPlainLine, caughtUp, caughtUpShown)) {
                    lastPlainLine = System.nanoTime();
                    caughtUpShown |= caughtUp;
                    System.out.println(text);
                }
            }
        }
    }

    /**
     * Without a terminal: a line every five seconds, and one as soon as the topics hold the rows
     * (the last line before --until-caught-up's summary), not one a second from then on.
     */
    static boolean plainLineDue(long nanosSinceLastLine, boolean caughtUp, boolean caughtUpShown) {
        return nanosSinceLastLine > PLAIN_LINE_NANOS || (caughtUp && !caughtUpShown);
    }

    /** Counts the records that arrived; returns the very first record of this run's reading, or null. */
    private ConsumerRecord<byte[], byte[]> readNewRecords() {
        ConsumerRecord<byte[], byte[]> first = null;
        long deadline = System.nanoTime() + 1_000_000_000L;
        try {
            while (System.nanoTime() < deadline) {
                var records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    if (first == null && !sampleShown) {
                        first = record;
                    }
                    recordsByTopic.merge(record.topic(), 1L, Long::sum);
                    boolean snapshotRead = "r".equals(op(record));
                    (snapshotRead ? snapshotByTopic : changesByTopic).merge(record.topic(), 1L, Long::sum);
                }
            }
        } catch (RuntimeException notYet) {
            // the topic does not exist yet (the task has not written to it): nothing to count
        }
        return first;
    }

    static String op(ConsumerRecord<byte[], byte[]> record) {
        Header header = record.headers().lastHeader(OP_HEADER);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /**
     * A table's snapshot is done once its snapshot records reach the rows counted at the start, or
     * once a change follows them (the change phase starts after the snapshot; rows deleted during
     * the snapshot would otherwise keep it short of the count).
     */
    boolean snapshotDone() {
        return expectedByTopic.entrySet().stream().allMatch(e -> snapshotByTopic.getOrDefault(e.getKey(), 0L)
                >= e.getValue() || changesByTopic.getOrDefault(e.getKey(), 0L) > 0);
    }

    /** No progress line after this (the shutdown summary comes last); then {@link #lastCounts()}. */
    synchronized String stopShowing() {
        stopped = true;
        return lastCounts();
    }

    /** Every captured table's topic holds at least the rows the table had at the start. */
    boolean caughtUp() {
        return expectedByTopic.entrySet().stream().allMatch(e -> recordsByTopic.getOrDefault(e.getKey(), 0L)
                >= e.getValue()) && sum(recordsByTopic) > 0;
    }

    /** The counts as last shown; nothing is asked of Kafka (it may be stopping). */
    String lastCounts() {
        return lastCounts;
    }

    long rows() {
        return sum(expectedByTopic);
    }

    long changes() {
        return sum(changesByTopic);
    }

    private static long sum(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
