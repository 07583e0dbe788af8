package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/**
 * The capture.mode=wal lines (9: drain of a WAL backlog, ours and Debezium; 10: change-to-record
 * latency), in a database of their own so their slots decode only their tables' changes and the
 * pgbench table is not needed. Each line claims its slots and publications through
 * {@link ReplicationObjects}, which drops them when the line ends, fails, or the JVM stops.
 * Settings: {@code bench.walUpdates} (200000), {@code bench.walTransactions} (1000),
 * {@code bench.walSides} (debezium,ours,ceiling: the drain sides, in that order in the first round;
 * ceiling is the synthetic source carrying the records ours makes of the backlog, without a database;
 * ceiling-snapshot, not run by default, the same with the keyset snapshot's record shape),
 * {@code bench.walProducerOverrides} (false), {@code bench.walSchemaless} (false: JsonConverter with
 * schemas, the worker's; true: without, on every side), {@code bench.walRuns} (1 measured round), {@code bench.walWarmupUpdates} (-1: a tenth of the updates; 0: none),
 * {@code bench.walLatencyRate} (1000 rows/s), {@code bench.latencySeconds} (20).
 */
final class WalBench {

    static final String DATABASE = "wal_bench";
    static final String LATENCY_SLOT = "wal_bench_latency";
    /** bench.walSchemaless: JsonConverter for keys and values, without the schema in each message. */
    static final Map<String, String> SCHEMALESS_JSON = Map.of(
            "key.converter", "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable", "false",
            "value.converter", "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable", "false");

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

    /**
     * Line 9: one warm-up round on a tenth of the backlog (the worker's first connector meets a
     * cold JVM: in two runs without it, Debezium ran 1.5 and ours 2.7 times as fast second as
     * first), then {@code bench.walRuns} measured rounds, the order of the sides
     * alternating from round to round; the ratio is taken round by round.
     */
    void drain() throws Exception {
        data.createDatabaseIfMissing();
        int updates = Integer.getInteger("bench.walUpdates", 200_000);
        int transactions = Integer.getInteger("bench.walTransactions", 1000);
        int runs = Integer.getInteger("bench.walRuns", 1);
        int warmupUpdates = Integer.getInteger("bench.walWarmupUpdates", -1);
        if (warmupUpdates < 0) {
            warmupUpdates = updates / 10;
        }
        List<String> sides = Arrays.stream(System.getProperty("bench.walSides", "debezium,ours,ceiling").split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String side : sides) {
            if (!List.of("ours", "debezium", WalDrain.CEILING, WalDrain.SNAPSHOT_SHAPED_CEILING).contains(side)) {
                throw new IllegalArgumentException("bench.walSides: unknown side '" + side
                        + "' (ours, debezium, ceiling, ceiling-snapshot)");
            }
        }
        // The same producer settings for every side: the framework's per-record cost (converter,
        // producer, broker) caps each side's rate, and larger batches lower that cap for all alike.
        boolean overrides = Boolean.getBoolean("bench.walProducerOverrides");
        // JsonConverter without schemas (a common setup where a schema registry is not used):
        // the same settings on every side, so what each record's schema costs leaves all alike.
        boolean schemaless = Boolean.getBoolean("bench.walSchemaless");
        Map<String, String> everySide = new java.util.HashMap<>(overrides ? EndToEnd.PRODUCER_OVERRIDES : Map.of());
        if (schemaless) {
            everySide.putAll(SCHEMALESS_JSON);
        }
        WalDrain drain = new WalDrain(data, connect, everySide);
        WalDrain.Round warmup = null;
        if (warmupUpdates > 0) {
            int warmupTransactions = Math.max(1, (int) ((long) transactions * warmupUpdates / updates));
            warmup = drain.round(sides, warmupUpdates, warmupTransactions);
            System.out.println("WAL drain warm-up round (not measured): " + warmup.sides());
        }
        List<WalDrain.Round> rounds = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            List<String> order = new ArrayList<>(sides);
            if (r % 2 == 1) {
                Collections.reverse(order);
            }
            WalDrain.Round round = drain.round(order, updates, transactions);
            rounds.add(round);
            StringBuilder figures = new StringBuilder();
            for (WalDrain.Side side : round.sides()) {
                figures.append(String.format(" %s %,.0f rows/s (handed to the worker in %.1f of %.1f s);",
                        side.name(), side.rowsPerSecond(), side.handedOverSeconds(), side.seconds()));
            }
            System.out.println("WAL drain round " + (r + 1) + " of " + runs + ":" + figures);
        }
        List<Double> ratios = new ArrayList<>();
        List<Double> cpuRatios = new ArrayList<>();
        List<Double> ofCeiling = new ArrayList<>();
        for (WalDrain.Round round : rounds) {
            WalDrain.Side ours = round.side("ours");
            WalDrain.Side debezium = round.side("debezium");
            WalDrain.Side ceiling = round.side(WalDrain.CEILING);
            if (ours != null && debezium != null && ours.measured() && debezium.measured()) {
                ratios.add(ours.rowsPerSecond() / debezium.rowsPerSecond());
                cpuRatios.add(debezium.jvmCpuSeconds() / ours.jvmCpuSeconds());
            }
            if (ours != null && ceiling != null && ours.measured() && ceiling.measured()) {
                ofCeiling.add(ours.rowsPerSecond() / ceiling.rowsPerSecond());
            }
        }
        WalDrain.Round last = rounds.get(rounds.size() - 1);
        String setup = String.format("%,d row updates in %,d transactions (%.0f MiB of WAL) written before the"
                + " connector started; from registration to the last record in the topic%s", last.updates(),
                last.transactions(), last.backlogMiB(), overrides ? "; every side with producer.override.linger.ms=20,"
                        + " batch.size=524288, compression.type=lz4" : "")
                + (schemaless ? "; every side with JsonConverter schemas.enable=false for keys and values" : "");
        for (String name : sides) {
            String method = (overrides ? "9c. WAL backlog drain, producer overrides, " : "9. WAL backlog drain, ")
                    + (schemaless ? "schemaless JSON, " : "")
                    + switch (name) {
                case "ours" -> "this connector, capture.mode=wal";
                case WalDrain.CEILING -> "framework ceiling";
                case WalDrain.SNAPSHOT_SHAPED_CEILING -> "framework ceiling, snapshot-shaped records";
                default -> "Debezium PostgreSQL 3.7.0.Final";
            };
            List<Double> rates = new ArrayList<>();
            List<Double> handedOverShares = new ArrayList<>();
            List<Double> cpuPerRecord = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            for (WalDrain.Round round : rounds) {
                WalDrain.Side side = round.side(name);
                if (side.measured()) {
                    rates.add(side.rowsPerSecond());
                    handedOverShares.add(side.handedOverSeconds() / side.seconds());
                    cpuPerRecord.add(side.jvmCpuSeconds() * 1e6 / round.updates());
                } else {
                    failures.add(side.failure());
                }
            }
            if (rates.isEmpty()) {
                report.extra(method, "not measured: " + failures);
                continue;
            }
            WalDrain.Side lastSide = last.side(name);
            String note = String.format("%s%s; last round %.1f s (first record after %.1f s), %,d records in the topic",
                    switch (name) {
                        case "ours" -> "snapshot.mode=never, publication.autocreate=disabled; ";
                        case WalDrain.CEILING -> "synthetic source: the records ours makes of the backlog (schemas,"
                                + " headers, offsets) from memory, no database; ";
                        case WalDrain.SNAPSHOT_SHAPED_CEILING -> "synthetic source, the records of line 7 (one"
                                + " header, key offsets) of the same rows; ";
                        default -> "snapshot.mode=no_data, pgoutput; ";
                    }, setup, lastSide.seconds(),
                    lastSide.firstRecordSeconds(), lastSide.recordsInTopic());
            note += String.format("; JVM CPU (worker, broker, connector) %.0f us/record (median)",
                    Stats.of(cpuPerRecord).median());
            // Where the task is ahead of the worker's producer, the drain is the producer's rate, not the connector's.
            note += String.format("; the task had handed its last record to the worker at %.0f%% of the drain time"
                    + " (median; last round %.1f s)", 100 * Stats.of(handedOverShares).median(),
                    lastSide.handedOverSeconds());
            WalDrain.Side cold = warmup == null ? null : warmup.side(name);
            if (cold != null && cold.measured()) {
                note += String.format("; warm-up round (%,d updates, cold worker) %,.0f rows/s", warmup.updates(),
                        cold.rowsPerSecond());
            }
            if (!failures.isEmpty()) {
                note += "; failed rounds: " + failures;
            }
            if (name.equals("ours") && !ratios.isEmpty()) {
                Stats ratio = Stats.of(ratios);
                note += String.format("; ours/Debezium %.1f (median of %d rounds, min %.1f, max %.1f; target >= 5);"
                        + " Debezium's JVM CPU / ours %.1f (median)", ratio.median(), ratios.size(), ratio.min(),
                        ratio.max(), Stats.of(cpuRatios).median());
            }
            if (name.equals("ours") && !ofCeiling.isEmpty()) {
                Stats ratio = Stats.of(ofCeiling);
                note += String.format("; ours/ceiling %.2f (median of %d rounds, min %.2f, max %.2f)", ratio.median(),
                        ofCeiling.size(), ratio.min(), ratio.max());
            }
            report.line(method, "rows/s", Stats.of(rates), note);
        }
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
