package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * capture.mode=wal with the worker killed (SIGKILL) mid-stream while transactions keep
 * committing: nothing is lost, and every change at or before the WAL offset committed before the
 * kill arrives exactly once (re-delivery bounded by the committed offset). With an exactly-once
 * worker and connector-defined transaction boundaries, a read_committed consumer sees every
 * change once and each PostgreSQL transaction (a 1,000-row one among them) as one whole Kafka
 * transaction; with provide.transaction.metadata, each PostgreSQL transaction's BEGIN and END
 * events arrive once too, END counting its rows, in the same Kafka transactions as the rows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalWorkerCrashIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestDatabase db;
    private EmbeddedKafkaCluster kafka;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("wal_crash");
        db.execute("CREATE TABLE events (id bigint PRIMARY KEY, tx int NOT NULL, payload text NOT NULL)");
        Properties broker = new Properties();
        broker.put("transaction.state.log.replication.factor", "1");
        broker.put("transaction.state.log.min.isr", "1");
        kafka = new EmbeddedKafkaCluster(1, broker);
        kafka.start();
    }

    @AfterAll
    void tearDown() {
        if (kafka != null) {
            kafka.stop();
        }
        if (db != null) {
            db.close();
        }
    }

    /** Inserts transactions of {@code rows} rows with consecutive ids until stopped; returns the last id. */
    private static final class Writer extends Thread {
        private final TestDatabase db;
        private final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong lastId = new AtomicLong();
        private final long firstId;
        private volatile int bigTransactionAt = -1;
        private volatile Throwable failure;

        Writer(TestDatabase db, long firstId) {
            this.db = db;
            this.firstId = firstId;
        }

        /** Makes transaction number {@code n} (from now) a 1,000-row one. */
        void bigTransactionAfter(int n) {
            bigTransactionAt = n;
        }

        @Override
        public void run() {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                long id = firstId;
                int tx = 0;
                while (!stop.get()) {
                    int rows = tx == bigTransactionAt ? 1000 : 10;
                    st.execute("INSERT INTO events SELECT g, " + tx + ", md5(g::text) FROM generate_series(" + id
                            + ", " + (id + rows - 1) + ") g");
                    c.commit();
                    id += rows;
                    lastId.set(id - 1);
                    tx++;
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                failure = e;
            }
        }

        long finish() throws InterruptedException {
            stop.set(true);
            join();
            if (failure != null) {
                throw new AssertionError("writer failed", failure);
            }
            return lastId.get();
        }
    }

    private record Delivered(long id, String lsn, long offset, long xid, long totalOrder) {
        static Delivered of(TopicReader.Row row) {
            String order = row.header("pgkeyset.tx.total_order");
            return new Delivered(row.key().get("id").asLong(), row.header("pgkeyset.lsn"), row.offset(),
                    Long.parseLong(row.header("pgkeyset.txid")), order == null ? -1 : Long.parseLong(order));
        }
    }

    /** The transaction topic's events read with the rows (provide.transaction.metadata). */
    private final List<TopicReader.Row> transactionEvents = new ArrayList<>();

    @Test
    void nothingLostAndRedeliveryBoundedByTheCommittedOffset() throws Exception {
        String slot = WalFixture.uniqueName("crash");
        List<Delivered> delivered = runKillingTheFirstWorker("walcrash", slot, Map.of(), Map.of(), Map.of());
        WalOffset before = committedBeforeKill;
        Map<Long, Integer> seen = new HashMap<>();
        Map<Long, WalOffset> offsetOf = new HashMap<>();
        Map<String, Integer> positionInTransaction = new HashMap<>();
        int redelivered = 0;
        for (Delivered d : delivered) {
            if (seen.merge(d.id, 1, Integer::sum) == 1) {
                // The record's offset: its commit LSN and event n = 2 x i + part, i its index in the
                // transaction (one record per row here), part 0 for an insert (the README's offset format).
                // Taking i itself as the event compared a row half-way through a large transaction with
                // an offset twice as far in it, and called its re-delivery wrong (seen on 17, where the
                // kill happened to land inside the 1,000-row transaction).
                int index = positionInTransaction.merge(d.lsn, 1, Integer::sum) - 1;
                offsetOf.put(d.id, new WalOffset(WalOffset.parseLsn(d.lsn), 2L * index));
            } else {
                redelivered++;
                assertTrue(offsetOf.get(d.id).compareTo(before) > 0, "id " + d.id + " at " + offsetOf.get(d.id)
                        + " re-delivered though the offset committed before the kill covered it: " + before.toMap());
            }
        }
        for (long id = 1; id <= lastWritten; id++) {
            assertTrue(seen.containsKey(id), "id " + id + " delivered");
        }
        System.out.printf("WAL kill -9: %d rows written, committed offset before the kill %s, %d re-delivered%n",
                lastWritten, before.toMap(), redelivered);
    }

    @Test
    void exactlyOnceWithPostgresTransactionsAsKafkaTransactions() throws Exception {
        String slot = WalFixture.uniqueName("eos");
        // The killed task's open Kafka transaction holds the next worker's read of the offsets
        // topic until the broker aborts it: after transaction.timeout.ms (60 s by default; 82 s
        // for this test, against 32 s with 10 s). The 1,000-row transaction sends well within it.
        List<Delivered> delivered = runKillingTheFirstWorker("waleos", slot,
                Map.of("exactly.once.source.support", "enabled", "producer.transaction.timeout.ms", "10000"),
                Map.of("exactly.once.support", "required", "transaction.boundary", "connector",
                        "batch.max.rows", "100", "provide.transaction.metadata", "true"),
                Map.of("isolation.level", "read_committed"));
        Map<Long, Integer> seen = new HashMap<>();
        for (Delivered d : delivered) {
            seen.merge(d.id, 1, Integer::sum);
        }
        for (long id = 1; id <= lastWritten; id++) {
            assertEquals(1, seen.getOrDefault(id, 0), "id " + id + " seen once by a read_committed consumer");
        }
        // One producer writes the partition: a Kafka transaction's records have consecutive offsets,
        // and its commit marker takes the offset after them. So each PostgreSQL transaction must be
        // one run of consecutive offsets, with a gap before the next transaction's first record.
        Map<String, Integer> sizes = new HashMap<>();
        for (int i = 1; i < delivered.size(); i++) {
            Delivered previous = delivered.get(i - 1);
            Delivered current = delivered.get(i);
            if (previous.lsn.equals(current.lsn)) {
                assertEquals(previous.offset + 1, current.offset, "transaction " + current.lsn
                        + " split over Kafka transactions at id " + current.id);
            } else {
                assertTrue(current.offset >= previous.offset + 2, "transactions " + previous.lsn + " and "
                        + current.lsn + " in one Kafka transaction");
            }
        }
        delivered.forEach(d -> sizes.merge(d.lsn, 1, Integer::sum));
        assertTrue(sizes.containsValue(1000), "the 1,000-row transaction arrived whole: " + sizes.values().stream()
                .filter(n -> n != 10).toList());
        // Transaction metadata: per PostgreSQL transaction (its xid, from the rows' header), one
        // BEGIN and one END, END counting the rows the consumer saw; the rows numbered 1..n.
        Map<Long, List<Long>> ordersByXid = new HashMap<>();
        delivered.forEach(d -> ordersByXid.computeIfAbsent(d.xid, x -> new ArrayList<>()).add(d.totalOrder));
        Map<Long, List<String>> statusesByXid = new HashMap<>();
        Map<Long, Long> endCounts = new HashMap<>();
        for (TopicReader.Row event : transactionEvents) {
            long xid = Long.parseLong(event.value().get("id").asText().split(":")[0]);
            statusesByXid.computeIfAbsent(xid, x -> new ArrayList<>()).add(event.value().get("status").asText());
            if (event.value().get("status").asText().equals("END")) {
                endCounts.put(xid, event.value().get("event_count").asLong());
            }
        }
        assertEquals(ordersByXid.keySet(), statusesByXid.keySet(), "transactions with rows and with BEGIN/END");
        for (Map.Entry<Long, List<Long>> transaction : ordersByXid.entrySet()) {
            long xid = transaction.getKey();
            assertEquals(List.of("BEGIN", "END"), statusesByXid.get(xid), "transaction " + xid + "'s events");
            List<Long> orders = new ArrayList<>(transaction.getValue());
            java.util.Collections.sort(orders);
            assertEquals(java.util.stream.LongStream.rangeClosed(1, orders.size()).boxed().toList(), orders,
                    "transaction " + xid + "'s rows numbered 1..n once each");
            assertEquals((long) orders.size(), endCounts.get(xid), "transaction " + xid + "'s END counts its rows");
        }
        System.out.printf("WAL exactly once: %d rows once each in %d transactions, committed offset before the kill %s%n",
                lastWritten, sizes.size(), committedBeforeKill.toMap());
    }

    /**
     * At-least-once (no exactly-once worker) with provide.transaction.metadata, the worker killed
     * mid-stream: every row arrives, a re-delivered row carries the total_order it had the first
     * time, and each PostgreSQL transaction with rows has a BEGIN (its first transaction event)
     * and an END counting its distinct rows; no transaction without rows has either.
     */
    @Test
    void atLeastOnceWithTransactionMetadataLosesNoBeginOrEnd() throws Exception {
        String slot = WalFixture.uniqueName("alotx");
        List<Delivered> delivered = runKillingTheFirstWorker("walalotx", slot, Map.of(),
                Map.of("provide.transaction.metadata", "true", "batch.max.rows", "100"), Map.of());
        Map<Long, Long> orderOfId = new HashMap<>();
        Map<Long, java.util.Set<Long>> idsByXid = new HashMap<>();
        for (Delivered d : delivered) {
            Long first = orderOfId.putIfAbsent(d.id, d.totalOrder);
            if (first != null) {
                assertEquals(first, d.totalOrder, "id " + d.id + " re-delivered with another total_order");
            }
            idsByXid.computeIfAbsent(d.xid, x -> new java.util.HashSet<>()).add(d.id);
        }
        for (long id = 1; id <= lastWritten; id++) {
            assertTrue(orderOfId.containsKey(id), "id " + id + " delivered");
        }
        Map<Long, List<String>> statusesByXid = new HashMap<>();
        Map<Long, Long> endCounts = new HashMap<>();
        for (TopicReader.Row event : transactionEvents) {
            long xid = Long.parseLong(event.value().get("id").asText().split(":")[0]);
            String status = event.value().get("status").asText();
            statusesByXid.computeIfAbsent(xid, x -> new ArrayList<>()).add(status);
            if (status.equals("END")) {
                Long before = endCounts.put(xid, event.value().get("event_count").asLong());
                if (before != null) {
                    assertEquals(before, endCounts.get(xid), "a re-delivered END of " + xid + " counts the same");
                }
            }
        }
        assertEquals(idsByXid.keySet(), statusesByXid.keySet(), "transactions with rows and with BEGIN/END");
        int redelivered = 0;
        for (Map.Entry<Long, java.util.Set<Long>> transaction : idsByXid.entrySet()) {
            long xid = transaction.getKey();
            List<String> statuses = statusesByXid.get(xid);
            assertEquals("BEGIN", statuses.get(0), "transaction " + xid + "'s first event: " + statuses);
            assertTrue(statuses.contains("END"), "transaction " + xid + " has an END: " + statuses);
            redelivered += statuses.size() - 2;
            assertEquals((long) transaction.getValue().size(), endCounts.get(xid),
                    "transaction " + xid + "'s END counts its rows");
        }
        System.out.printf("WAL kill -9 with transaction metadata: %d rows, %d transactions, %d transaction events "
                + "re-delivered, committed offset before the kill %s%n", lastWritten, idsByXid.size(), redelivered,
                committedBeforeKill.toMap());
    }

    private WalOffset committedBeforeKill;
    private long lastWritten;

    private List<Delivered> runKillingTheFirstWorker(String name, String slot, Map<String, String> workerProps,
                                                     Map<String, String> connectorProps,
                                                     Map<String, Object> consumerProps) throws Exception {
        db.execute("TRUNCATE events");
        Path dir = Path.of("target", "forked-workers");
        String group = name + "-" + System.nanoTime();
        Map<String, String> config = WalFixture.walConfig(db, name, "public\\.events", slot, "never");
        config.putAll(connectorProps);
        Writer writer = null;
        List<Delivered> delivered = new ArrayList<>();
        try {
            try (ForkedWorker first = ForkedWorker.start(kafka.bootstrapServers(), group, dir, workerProps)) {
                first.putConnector(name, config);
                WalFixture.awaitStreaming(db, slot, TIMEOUT);
                writer = new Writer(db, 1);
                writer.start();
                writer.bigTransactionAfter(150);
                Writer w = writer;
                ConnectFixture.waitFor("an offset past 2,000 rows committed", TIMEOUT,
                        () -> w.lastId.get() > 2_000 && committedOffset(first, name) != null);
                committedBeforeKill = committedOffset(first, name);
                first.kill();
            }
            Thread.sleep(1000);
            transactionEvents.clear();
            boolean metadata = "true".equals(connectorProps.get("provide.transaction.metadata"));
            List<String> topics = metadata ? List.of(name + ".public.events", name + ".transaction")
                    : List.of(name + ".public.events");
            try (ForkedWorker second = ForkedWorker.start(kafka.bootstrapServers(), group, dir, workerProps);
                 TopicReader reader = new TopicReader(kafka.bootstrapServers(), topics, consumerProps)) {
                Thread.sleep(3000);
                lastWritten = writer.finish();
                writer = null;
                AtomicLong distinct = new AtomicLong();
                java.util.Set<Long> ids = new java.util.HashSet<>();
                java.util.function.Consumer<TopicReader.Row> each = row -> {
                    if (row.topic().endsWith(".transaction")) {
                        transactionEvents.add(row);
                        return;
                    }
                    if (ids.add(row.key().get("id").asLong())) {
                        distinct.incrementAndGet();
                    }
                    delivered.add(Delivered.of(row));
                };
                reader.readUntil(() -> distinct.get() == lastWritten, TIMEOUT, each);
                reader.readFor(Duration.ofSeconds(2), each);
                second.get("/connectors/" + name); // keep the worker until read
            }
        } finally {
            if (writer != null) {
                writer.finish();
            }
            WalFixture.dropSlotAndPublication(db, slot);
        }
        return delivered;
    }

    private static WalOffset committedOffset(ForkedWorker worker, String connector) {
        try {
            var response = worker.get("/connectors/" + connector + "/offsets");
            if (response.statusCode() != 200) {
                return null;
            }
            for (JsonNode entry : JSON.readTree(response.body()).get("offsets")) {
                if (entry.get("partition").has("slot")) {
                    JsonNode offset = entry.get("offset");
                    return WalOffset.fromMap(Map.of(WalOffset.COMMIT_LSN, offset.get("commit_lsn").asText(),
                            WalOffset.EVENT, offset.get("event").asLong()));
                }
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }
}
