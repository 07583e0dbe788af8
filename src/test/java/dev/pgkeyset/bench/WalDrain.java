package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/**
 * Drain rate of a WAL backlog through the worker. One round: {@code updates} row updates in
 * {@code transactions} transactions are written while no connector runs, into the slot of each
 * side (created, with its publication, before the first update, so every slot holds the same
 * backlog); then each side's connector starts with no offset ({@code snapshot.mode=never} for
 * ours, {@code no_data} for Debezium) and is timed from its registration until its topic holds one
 * record per update. The sides run one after the other, each slot dropped as soon as it is drained.
 * Every connector gets a name (and topic prefix) of its own, so none finds an earlier one's offsets.
 */
final class WalDrain {

    static final String TABLE = "wal_bench_accounts";
    /** The side that carries the drain's records from memory, without a database: the framework's ceiling. */
    static final String CEILING = "ceiling";
    /**
     * The same, with the records the keyset snapshot makes of a row (line 7's: one header,
     * a table's partition and key offsets): what the WAL records' shape costs the framework.
     */
    static final String SNAPSHOT_SHAPED_CEILING = "ceiling-snapshot";

    /** Whether a side streams a slot of its own. */
    static boolean usesSlot(String side) {
        return !side.equals(CEILING) && !side.equals(SNAPSHOT_SHAPED_CEILING);
    }

    /**
     * One side's figure, or why it has none. {@code handedOverSeconds}: from registration until
     * the task had handed every record to the worker (its poll total); the rest of
     * {@code seconds} is the worker's producer and the broker.
     */
    record Side(String name, double rowsPerSecond, double seconds, double firstRecordSeconds, double jvmCpuSeconds,
            long recordsInTopic, double handedOverSeconds, String failure) {
        boolean measured() {
            return failure == null;
        }
    }

    record Round(long updates, int transactions, double backlogMiB, List<Side> sides) {
        Side side(String name) {
            return sides.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
        }
    }

    private final BenchData data;
    private final EmbeddedConnectCluster connect;
    private int connectors;

    /** Extra connector settings given to every side alike (e.g. {@link EndToEnd#PRODUCER_OVERRIDES}). */
    private final Map<String, String> everySide;

    WalDrain(BenchData data, EmbeddedConnectCluster connect, Map<String, String> everySide) {
        this.data = data;
        this.connect = connect;
        this.everySide = everySide;
    }

    /** One round of the sides named in {@code sides} ("ours", "debezium"), in that order. */
    Round round(List<String> sides, int updates, int transactions) throws Exception {
        if (updates % transactions != 0) {
            throw new IllegalArgumentException("The updates (" + updates + ") must be a multiple of the"
                    + " transactions (" + transactions + ")");
        }
        try (ReplicationObjects replication = new ReplicationObjects(data)) {
            createTable(updates);
            for (String side : sides) {
                if (usesSlot(side)) {
                    replication.create(slot(side), slot(side), "public." + TABLE);
                }
            }
            double backlogMiB = writeBacklog(updates, transactions);
            List<Side> figures = new java.util.ArrayList<>();
            for (String side : sides) {
                figures.add(drain(side, updates, transactions, replication));
            }
            return new Round(updates, transactions, backlogMiB, figures);
        }
    }

    private static String slot(String side) {
        return "wal_bench_" + side; // also the publication's name
    }

    /** One row per update, so each row is updated once and every record of a side has its own key. */
    void createTable(int updates) throws Exception {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + TABLE);
            st.execute("CREATE TABLE " + TABLE + " (aid int PRIMARY KEY, bid int, abalance int, filler char(84))");
            st.execute("INSERT INTO " + TABLE + " SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, "
                    + updates + ") g");
            st.execute("VACUUM ANALYZE " + TABLE);
        }
    }

    /** Writes the backlog, one autocommitted UPDATE per transaction; returns the WAL it took, in MiB. */
    double writeBacklog(int updates, int transactions) throws Exception {
        int perTransaction = updates / transactions;
        long start = System.nanoTime();
        try (Connection c = data.connect();
             PreparedStatement update = c.prepareStatement("UPDATE " + TABLE
                     + " SET abalance = abalance + 1 WHERE aid > ? AND aid <= ?");
             Statement st = c.createStatement()) {
            String before = lsn(st);
            long rows = 0;
            for (int t = 0; t < transactions; t++) {
                update.setInt(1, t * perTransaction);
                update.setInt(2, (t + 1) * perTransaction);
                rows += update.executeUpdate();
            }
            if (rows != updates) {
                throw new IllegalStateException("The backlog updated " + rows + " rows, not " + updates);
            }
            try (ResultSet rs = st.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + before + "')")) {
                rs.next();
                double mib = rs.getLong(1) / (1024.0 * 1024);
                System.out.printf("WAL backlog: %,d updates in %,d transactions, %.0f MiB of WAL (all databases),"
                        + " written in %.1f s%n", updates, transactions, mib, (System.nanoTime() - start) / 1e9);
                return mib;
            }
        }
    }

    private static String lsn(Statement st) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private Side drain(String side, int updates, int transactions, ReplicationObjects replication)
            throws Exception {
        String name = "wal-drain-" + side + "-" + (++connectors);
        String topic = name + ".public." + TABLE;
        Map<String, String> config = switch (side) {
            case "ours" -> ours(name);
            case "debezium" -> debezium(name);
            case CEILING -> ceiling(topic, updates, transactions, "wal");
            case SNAPSHOT_SHAPED_CEILING -> ceiling(topic, updates, transactions, "snapshot");
            default -> throw new IllegalArgumentException("bench.walSides: unknown side '" + side
                    + "' (ours, debezium, ceiling, ceiling-snapshot)");
        };
        config.putAll(everySide);
        try {
            EndToEnd.Timing timing = EndToEnd.secondsUntilTopicHolds(connect, name, config, topic, updates);
            long inTopic = connect.kafka().endOffset(new TopicPartition(topic, 0));
            return new Side(side, updates / timing.seconds(), timing.seconds(), timing.firstRecordSeconds(),
                    timing.jvmCpuSeconds(), inTopic, timing.handedOverSeconds(), null);
        } catch (Exception e) {
            System.err.println("WAL drain, " + name + ": " + e);
            return new Side(side, 0, 0, 0, 0, -1, 0, e.getMessage());
        } finally {
            EndToEnd.remove(connect, name, topic);
            if (usesSlot(side)) {
                replication.dropSlot(slot(side));
            }
        }
    }

    private Map<String, String> ours(String name) {
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\." + TABLE);
        config.put("topic.prefix", name);
        config.put("capture.mode", "wal");
        config.put("snapshot.mode", "never");
        config.put("slot.name", slot("ours"));
        config.put("publication.name", slot("ours"));
        config.put("publication.autocreate", "disabled");
        return config;
    }

    /** The synthetic source, emitting the records ours makes of the backlog: same schemas, headers, offsets. */
    private static Map<String, String> ceiling(String topic, int updates, int transactions, String shape) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", SyntheticSourceConnector.class.getName());
        config.put(SyntheticSourceConnector.ROWS, Integer.toString(updates));
        config.put(SyntheticSourceConnector.TOPIC, topic);
        config.put(SyntheticSourceConnector.SHAPE, shape);
        config.put(SyntheticSourceConnector.ROWS_PER_TRANSACTION, Integer.toString(updates / transactions));
        return config;
    }

    private Map<String, String> debezium(String name) {
        Map<String, String> config = EndToEnd.debeziumConfig(data, name, "public." + TABLE);
        config.put("slot.name", slot("debezium"));
        config.put("slot.drop.on.stop", "false"); // ReplicationObjects drops it, also when the run fails
        config.put("publication.name", slot("debezium"));
        config.put("publication.autocreate.mode", "disabled");
        config.put("snapshot.mode", "no_data");
        return config;
    }
}
