package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffsets;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TopicReader;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * A new snapshot on demand while capture.mode=wal streams, under a workload of counter updates,
 * inserts and hard deletes on every table the whole time:
 * <ol>
 * <li>two captured tables stream; the connector is stopped, ONE table's offset is deleted over
 *     REST (PATCH with a null offset, KIP-875) and the connector resumed: that table is read again
 *     in chunks (its rows come again as {@code r}) while changes of both tables keep streaming, and
 *     the other table is not read again;</li>
 * <li>a third table is added to table.include.list: it is read in chunks while the stream goes on,
 *     and the first two are not read again.</li>
 * </ol>
 * At the end every table's last records equal its rows (sets listed by PostgreSQL), and per key
 * {@code v} never goes down in delivery order. Seed: {@code -DwalResnapshot.seed=<n>}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalResnapshotOnDemandIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String CONNECTOR = "walresnap";
    private static final int CHUNK = 100;
    /** Rows per table at the start: about a hundred chunks for the big ones. */
    private static final Map<String, Integer> ROWS = Map.of("ta", 10_000, "tb", 3_000, "tc", 10_000);
    private static final List<String> TABLES = List.of("ta", "tb", "tc");

    private TestDatabase db;
    private EmbeddedConnectCluster connect;

    @BeforeAll
    void setUp() throws InterruptedException {
        db = PostgresFixture.createDatabase("wal_resnap");
        connect = ConnectFixture.start("wal-resnap");
    }

    @AfterAll
    void tearDown() {
        ConnectFixture.stopAll(connect, db);
    }

    private static String topic(String table) {
        return CONNECTOR + ".public." + table;
    }

    /** One record in the order the single consumer received it. */
    private record Delivered(String table, long kafkaOffset, long id, String op, JsonNode value) {
        boolean snapshot() {
            return "r".equals(op);
        }
    }

    private final List<Delivered> delivered = new ArrayList<>();

    @Test
    void aTableWhoseOffsetIsDeletedAndATableAddedLaterAreReadAgainInChunksWhileTheStreamRuns() throws Exception {
        long seed = Long.getLong("walResnapshot.seed", System.nanoTime());
        System.out.println("WalResnapshotOnDemandIT seed " + seed + " (replay: -DwalResnapshot.seed=" + seed + ")");
        long started = System.nanoTime();
        for (String table : TABLES) {
            db.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, v bigint NOT NULL, pad text)",
                    "INSERT INTO " + table + " SELECT g, 0, md5(g::text) FROM generate_series(1, " + ROWS.get(table)
                            + ") g",
                    "ANALYZE " + table);
        }
        // The third table's topic made beforehand, so one consumer reads all three from the start and
        // the order it receives records in is the order the task produced them in.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", connect.kafka().bootstrapServers()))) {
            admin.createTopics(TABLES.stream().map(t -> new NewTopic(topic(t), 1, (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
        }
        String slot = WalFixture.uniqueName("resnap");
        Map<String, String> config = WalFixture.walConfig(db, CONNECTOR, "public\\.t[ab]", slot, "initial");
        config.put("snapshot.chunk.size", Integer.toString(CHUNK));
        config.put("batch.max.rows", "500");
        CounterWorkload workload = new CounterWorkload(db, ROWS, "ta", seed);
        Window resnapshotA;
        Window snapshotC;
        Map<String, Long> endAtStop;
        Map<String, Long> endAtReconfigure;
        Set<Long> aTouchedSinceResume;
        try (TopicReader reader = new TopicReader(connect.kafka().bootstrapServers(),
                TABLES.stream().map(WalResnapshotOnDemandIT::topic).toList())) {
            workload.start();
            connect.configureConnector(CONNECTOR, config);
            read(reader, "ta and tb snapshotted", () -> complete("ta") && complete("tb"));
            int before = delivered.size();
            read(reader, "a few hundred stream records", () -> delivered.subList(before, delivered.size()).stream()
                    .filter(d -> !d.snapshot()).count() > 300);

            // 1. ta's offset deleted while stopped: ta only is read again.
            connect.stopConnector(CONNECTOR);
            connect.assertions().assertConnectorIsStopped(CONNECTOR, "the connector did not stop");
            endAtStop = endOffsets(reader);
            connect.alterConnectorOffsets(CONNECTOR, new ConnectorOffsets(List.of(
                    new ConnectorOffset(Map.of("table", "public.ta"), null))));
            assertEquals(null, offsetOf("ta"), "ta's offset is gone");
            workload.startTracking();
            // A transaction that looked at the switch before it was set has committed by now.
            Thread.sleep(200);
            connect.resumeConnector(CONNECTOR);
            int resumedAt = delivered.size();
            read(reader, "ta read again to its end", () -> complete("ta") && delivered.subList(resumedAt,
                    delivered.size()).stream().anyMatch(d -> d.table.equals("ta") && d.snapshot()));
            resnapshotA = Window.of(delivered, resumedAt, "ta");

            // 2. tc added to table.include.list: tc only is read.
            endAtReconfigure = endOffsets(reader);
            int reconfiguredAt = delivered.size();
            config.put("table.include.list", "public\\.t[abc]");
            connect.configureConnector(CONNECTOR, config);
            read(reader, "tc snapshotted", () -> complete("tc") && delivered.subList(reconfiguredAt,
                    delivered.size()).stream().anyMatch(d -> d.table.equals("tc") && d.snapshot()));
            int afterC = delivered.size();
            read(reader, "all three tables streaming", () -> TABLES.stream().allMatch(t -> delivered
                    .subList(afterC, delivered.size()).stream().anyMatch(d -> d.table.equals(t) && !d.snapshot())));
            snapshotC = Window.of(delivered, reconfiguredAt, "tc");

            workload.finish();
            aTouchedSinceResume = workload.stopTracking();
            for (String table : TABLES) {
                db.execute("INSERT INTO " + table + " VALUES (-1, 0, 'marker')");
            }
            read(reader, "the three markers", () -> TABLES.stream().allMatch(t -> delivered.stream()
                    .anyMatch(d -> d.table.equals(t) && d.id == -1)));
            reader.readFor(Duration.ofSeconds(1), row -> delivered.add(delivered(row)));
        } finally {
            workload.finish();
            try {
                connect.deleteConnector(CONNECTOR);
            } finally {
                WalFixture.dropSlotAndPublication(db, slot);
            }
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;

        // ta read again: every row the workload never changed since the resume (nor inserted since)
        // has an r record after it; a changed one may rightly have been left to the stream.
        Set<Long> aReadAgain = new HashSet<>();
        List<String> wrong = new ArrayList<>();
        for (Delivered d : delivered) {
            if (d.snapshot() && d.kafkaOffset >= endAtStop.get(topic(d.table))) {
                if (d.table.equals("tb")) {
                    wrong.add("tb read again after the resume: " + d);
                } else if (d.table.equals("ta") && !aReadAgain.add(d.id)) {
                    wrong.add("ta key " + d.id + " read twice by its second snapshot");
                }
            }
            if (d.snapshot() && !d.table.equals("tc") && d.kafkaOffset >= endAtReconfigure.get(topic(d.table))) {
                wrong.add(d.table + " read again after tc was added: " + d);
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " snapshot records wrong, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
        Set<Long> untouched = idsOf("ta");
        untouched.removeAll(aTouchedSinceResume);
        untouched.remove(-1L);
        untouched.removeAll(aReadAgain);
        assertEquals(Set.of(), untouched.stream().limit(10).collect(java.util.stream.Collectors.toSet()),
                untouched.size() + " ta rows the workload did not touch since the resume were not read again");

        // The stream went on while each snapshot ran (in chunks beside it, not before it).
        assertTrue(resnapshotA.streamed.getOrDefault("ta", 0) > 0 && resnapshotA.streamed.getOrDefault("tb", 0) > 0,
                "changes of both ta and tb streamed during ta's second snapshot: " + resnapshotA);
        assertTrue(snapshotC.streamed.getOrDefault("ta", 0) + snapshotC.streamed.getOrDefault("tb", 0) > 0
                        && snapshotC.streamed.getOrDefault("tc", 0) > 0,
                "changes streamed during tc's snapshot: " + snapshotC);

        assertCounterNeverGoesDown();
        for (String table : TABLES) {
            assertLastRecordsEqualTheTable(table);
        }
        Map<String, Integer> ops = new HashMap<>();
        delivered.forEach(d -> ops.merge(d.table + "/" + d.op, 1, Integer::sum));
        System.out.printf("WalResnapshotOnDemandIT seed %d: %d s, %d workload changes; ta's second snapshot: %s; "
                        + "tc's snapshot: %s; records by table/op %s%n",
                seed, seconds, workload.changes, resnapshotA, snapshotC, new java.util.TreeMap<>(ops));
    }

    /**
     * Between the first and the last snapshot record of {@code table} after {@code from}: how many
     * snapshot records, and how many stream records of each table the consumer received.
     */
    private record Window(String table, int snapshotRecords, Map<String, Integer> streamed) {

        static Window of(List<Delivered> delivered, int from, String table) {
            int first = -1;
            int last = -1;
            for (int i = from; i < delivered.size(); i++) {
                if (delivered.get(i).table.equals(table) && delivered.get(i).snapshot()) {
                    first = first < 0 ? i : first;
                    last = i;
                }
            }
            Map<String, Integer> streamed = new java.util.TreeMap<>();
            int snapshotRecords = 0;
            for (int i = Math.max(first, 0); i <= last; i++) {
                Delivered d = delivered.get(i);
                if (d.snapshot()) {
                    snapshotRecords++;
                } else {
                    streamed.merge(d.table, 1, Integer::sum);
                }
            }
            return new Window(table, snapshotRecords, streamed);
        }

        @Override
        public String toString() {
            return snapshotRecords + " " + table + " snapshot records, amid stream records " + streamed;
        }
    }

    private void assertCounterNeverGoesDown() {
        Map<String, Long> lastV = new HashMap<>();
        List<String> wrong = new ArrayList<>();
        for (Delivered d : delivered) {
            if (d.value == null) {
                continue;
            }
            long v = d.value.get("v").asLong();
            Long previous = lastV.put(d.table + "/" + d.id, v);
            if (previous != null && v < previous) {
                wrong.add(d.table + " key " + d.id + ": v " + v + " (op " + d.op + ") after v " + previous);
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " records going back, e.g. "
                + wrong.subList(0, Math.min(5, wrong.size())));
    }

    private void assertLastRecordsEqualTheTable(String table) throws SQLException {
        Map<Long, JsonNode> last = new HashMap<>();
        delivered.stream().filter(d -> d.table.equals(table)).forEach(d -> last.put(d.id, d.value));
        Set<String> topicRows = new HashSet<>();
        last.values().stream().filter(v -> v != null).forEach(v -> topicRows.add(v.get("id").asLong() + "|"
                + v.get("v").asLong() + "|" + (v.get("pad").isNull() ? null : v.get("pad").asText())));
        Set<String> tableRows = new HashSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v, pad FROM " + table)) {
            while (rs.next()) {
                tableRows.add(rs.getLong(1) + "|" + rs.getLong(2) + "|" + rs.getString(3));
            }
        }
        Set<String> missing = new HashSet<>(tableRows);
        missing.removeAll(topicRows);
        Set<String> extra = new HashSet<>(topicRows);
        extra.removeAll(tableRows);
        assertTrue(missing.isEmpty() && extra.isEmpty(), table + ": " + missing.size() + " rows not the last "
                + "record of their key, e.g. " + missing.stream().limit(5).toList() + "; " + extra.size()
                + " last records not in the table, e.g. " + extra.stream().limit(5).toList());
    }

    private Set<Long> idsOf(String table) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM " + table)) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    /** The table's committed offset says snapshot_complete (over REST). */
    private boolean complete(String table) {
        Map<String, Object> offset = offsetOf(table);
        return offset != null && "snapshot_complete".equals(offset.get("phase"));
    }

    private Map<String, Object> offsetOf(String table) {
        try {
            for (ConnectorOffset offset : connect.connectorOffsets(CONNECTOR).offsets()) {
                if (("public." + table).equals(offset.partition().get("table"))) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> value = (Map<String, Object>) offset.offset();
                    return value;
                }
            }
            return null;
        } catch (RuntimeException notNow) {
            return null;
        }
    }

    private static Map<String, Long> endOffsets(TopicReader reader) {
        Map<String, Long> ends = new HashMap<>();
        TABLES.forEach(t -> ends.put(topic(t), reader.endOffset(topic(t), 0)));
        return ends;
    }

    /** Reads until {@code done}, asking it at most every half second (it may call the REST API). */
    private void read(TopicReader reader, String what, BooleanSupplier done) {
        long[] nextCheck = {0};
        BooleanSupplier throttled = () -> {
            if (System.nanoTime() < nextCheck[0]) {
                return false;
            }
            nextCheck[0] = System.nanoTime() + 500_000_000L;
            return done.getAsBoolean();
        };
        try {
            reader.readUntil(throttled, TIMEOUT, row -> delivered.add(delivered(row)));
        } catch (AssertionError e) {
            throw new AssertionError("waiting for " + what + ": " + e.getMessage() + "; status "
                    + connect.connectorStatus(CONNECTOR), e);
        }
    }

    private static Delivered delivered(TopicReader.Row row) {
        String table = row.topic().substring(row.topic().lastIndexOf('.') + 1);
        return new Delivered(table, row.offset(), row.key().get("id").asLong(), row.op(), row.value());
    }
}
