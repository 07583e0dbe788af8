package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/**
 * The capture.mode=wal lines (9: drain of a WAL backlog, ours and Debezium; 10: change-to-record
 * latency), in a database of their own so their slots decode only their tables' changes and the
 * pgbench table is not needed. Each line claims its slots and publications through
 * {@link ReplicationObjects}, which drops them when the line ends, fails, or the JVM stops.
 * Settings: {@code bench.walUpdates} (200000), {@code bench.walTransactions} (1000),
 * {@code bench.walSides} (debezium,ours: the drain sides, run in that order),
 * {@code bench.walLatencyRate} (1000 rows/s), {@code bench.latencySeconds} (20).
 */
final class WalBench {

    static final String DATABASE = "wal_bench";
    static final String LATENCY_SLOT = "wal_bench_latency";

    private final BenchData data = new BenchData(0, DATABASE);
    private final EmbeddedConnectCluster connect;
    private final Report report;

    WalBench(EmbeddedConnectCluster connect, Report report) {
        this.connect = connect;
        this.report = report;
    }

    /** Null when the server can stream logical changes, else why the WAL lines are skipped. */
    static String unavailable(BenchData any) throws Exception {
        try (Connection c = any.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW wal_level")) {
            rs.next();
            String level = rs.getString(1);
            return "logical".equals(level) ? null : "skipped: wal_level here is " + level
                    + "; logical decoding needs 'ALTER SYSTEM SET wal_level = logical' and a PostgreSQL restart";
        }
    }

    void drain() throws Exception {
        data.createDatabaseIfMissing();
        int updates = Integer.getInteger("bench.walUpdates", 200_000);
        int transactions = Integer.getInteger("bench.walTransactions", 1000);
        List<String> sides = Arrays.stream(System.getProperty("bench.walSides", "debezium,ours").split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).toList();
        WalDrain.Result result = new WalDrain(data, connect, updates, transactions).run(sides);
        WalDrain.Side ours = side(result, "ours");
        WalDrain.Side debezium = side(result, "debezium");
        String setup = String.format("%,d row updates in %,d transactions (%.0f MiB of WAL) written before the"
                + " connector started; from registration to the last record in the topic", result.updates(),
                result.transactions(), result.backlogMiB());
        for (WalDrain.Side side : result.sides()) {
            String method = "9. WAL backlog drain, " + (side == ours ? "this connector, capture.mode=wal"
                    : "Debezium PostgreSQL 3.7.0.Final");
            if (!side.measured()) {
                report.extra(method, "not measured: " + side.failure());
                continue;
            }
            String note = String.format("%s%s; %.1f s (first record after %.1f s; %,.0f rows/s after it), %,d records"
                    + " in the topic", side == ours ? "snapshot.mode=never, publication.autocreate=disabled; "
                    : "snapshot.mode=no_data, pgoutput; ", setup, side.seconds(), side.firstRecordSeconds(),
                    result.updates() / Math.max(1e-3, side.seconds() - side.firstRecordSeconds()), side.recordsInTopic());
            if (side == ours && debezium != null && debezium.measured()) {
                note += String.format("; ours/Debezium %.1f (target >= 5)", ours.rowsPerSecond() / debezium.rowsPerSecond());
            }
            report.line(method, "rows/s", Stats.of(List.of(side.rowsPerSecond())), note);
        }
    }

    private static WalDrain.Side side(WalDrain.Result result, String name) {
        return result.sides().stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    void latency() throws Exception {
        data.createDatabaseIfMissing();
        int rate = Integer.getInteger("bench.walLatencyRate", 1000);
        int seconds = Integer.getInteger("bench.latencySeconds", 20);
        String method = "10. change-to-record latency, capture.mode=wal, at " + rate + " rows/s";
        try (ReplicationObjects replication = new ReplicationObjects(data).claim(LATENCY_SLOT, LATENCY_SLOT)) {
            ChangeLatency.Result latency = new ChangeLatency(data, connect).run("wal-latency",
                    ChangeLatency.walMode(LATENCY_SLOT, LATENCY_SLOT), rate, Duration.ofSeconds(seconds));
            report.extra(method, String.format("p50 %.0f ms, p99 %.0f ms over %d rows (writers achieved %.0f rows/s;"
                    + " target p50 <= 50 ms)", latency.p50Ms(), latency.p99Ms(), latency.rows(),
                    latency.achievedRowsPerSecond()));
        } catch (Exception | AssertionError e) {
            System.err.println(method + ": " + e);
            report.extra(method, "not measured: " + e.getMessage());
        }
    }
}
