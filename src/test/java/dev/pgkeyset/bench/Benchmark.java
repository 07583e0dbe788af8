package dev.pgkeyset.bench;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/**
 * The benchmark: {@code mvn -q -Pbench test-compile exec:exec [-Dbench.scale=10] [-Dbench.runs=3]}.
 * Creates pgbench-shaped data in the PostgreSQL of the {@code PG*} variables, measures each read
 * method, prints one table and writes {@code target/bench/results.{json,md}}, {@code throughput.png}
 * and {@code heap.png}. Figures are medians over {@code bench.runs} runs after one cold run;
 * ratios are printed because absolute times on a shared machine are noisy. The task's read path
 * gets {@code bench.warmups} unmeasured runs between its cold run and the measured ones.
 * Lines 9 and 10 measure capture.mode=wal ({@link WalBench}); {@code -Dbench.only=wal} runs them
 * alone, {@code -Dbench.skipWal=true} leaves them out.
 */
public final class Benchmark {

    public static void main(String[] args) throws Exception {
        double scale = Double.parseDouble(System.getProperty("bench.scale", "10"));
        int runs = Integer.parseInt(System.getProperty("bench.runs", "3"));
        boolean endToEnd = !Boolean.getBoolean("bench.skipEndToEnd");
        int latencySeconds = Integer.parseInt(System.getProperty("bench.latencySeconds", "20"));
        int warmups = Integer.parseInt(System.getProperty("bench.warmups", "2"));
        String only = System.getProperty("bench.only", "all").trim();
        if (only.equals("snapshot")) {
            snapshotLines(scale, runs);
            return;
        }
        if (!only.isEmpty() && !only.equals("all")) {
            walLinesAlone(only);
            return;
        }
        boolean walLines = !Boolean.getBoolean("bench.skipWal");

        BenchData data = new BenchData(scale);
        data.prepare();
        Report report = new Report();
        describeMachine(report, data);
        System.out.printf("%nMeasuring (%d runs after a cold one, %d warm-ups for the read path):%n", runs, warmups);

        ReadLimits limits = new ReadLimits(data);
        limits.copyBinary();
        Stats copy = repeat(runs, limits::copyBinary);
        report.line("1. COPY binary (the read limit)", "rows/s", copy,
                String.format("%.0f MB/s", copy.median() * limits.copyBytes / data.rows / 1e6));

        double naivePeak;
        Stats naive;
        try (HeapSampler heap = new HeapSampler()) {
            naive = repeat(1, limits::naiveRead);
            heap.close();
            naivePeak = heap.peakLiveMib();
            report.heap("plain JDBC read (autocommit, no fetch size)", heap.series());
        }
        report.line("2. plain JDBC read, whole result", "rows/s", naive,
                String.format("heap after GC with the result open: %.0f MiB (the whole result)", naivePeak));

        List<double[]> offsetPages = limits.offsetPages();
        List<double[]> keysetPages = limits.keysetPages();
        StringBuilder pages = new StringBuilder();
        for (int i = 0; i < offsetPages.size(); i++) {
            pages.append(String.format("%s@%,d: OFFSET %.1f ms vs keyset %.1f ms", i == 0 ? "" : "; ",
                    (long) offsetPages.get(i)[0], offsetPages.get(i)[1], keysetPages.get(i)[1]));
        }
        report.extra("3. one 5,000-row page by LIMIT/OFFSET vs by keyset, at growing positions", pages);

        // Is a COPY chunk a faster way to read in key order than the cursor? (the question)
        limits.keysetCursorValues();
        limits.keysetCopyChunks();
        Stats cursorValues = repeat(runs, limits::keysetCursorValues);
        Stats copyChunks = repeat(runs, limits::keysetCopyChunks);
        report.extra("4a. the keyset read alone, values decoded, no records: cursor vs COPY (SELECT … ORDER BY key LIMIT"
                + " 100000) binary chunks", String.format("%,.0f vs %,.0f rows/s (median of %d; COPY/cursor %.2f)",
                        cursorValues.median(), copyChunks.median(), runs, copyChunks.median() / cursorValues.median()));

        TaskReadPath taskPath = new TaskReadPath(data);
        TaskReadPath.Result cold = taskPath.run();
        for (int i = 0; i < warmups; i++) {
            taskPath.run(); // lets the JIT finish compiling the read path before it is measured
        }
        List<Double> warmRates = new ArrayList<>();
        TaskReadPath.Result last = cold;
        for (int i = 0; i < runs; i++) {
            last = taskPath.run();
            warmRates.add(last.rowsPerSecond());
        }
        Stats task = Stats.of(warmRates);
        report.line("4. task read path, warm", "rows/s", task, String.format(
                "%.0f MB/s of table; peak heap after GC %.0f MiB; GC %d ms; ours/COPY %.2f", task.median() * data.tableBytes()
                        / data.rows / 1e6, last.peakHeapMib(), last.gcMillis(), task.median() / copy.median()));
        report.line("4. task read path, cold JVM", "rows/s", Stats.of(List.of(cold.rowsPerSecond())),
                String.format("warm/cold %.2f", task.median() / cold.rowsPerSecond()));
        report.extra("8. per-poll latency of the task, first vs last polls of the table (median ms)",
                String.format("%.2f ms vs %.2f ms (end/start %.2f)", last.firstPollsMs(), last.lastPollsMs(),
                        last.lastPollsMs() / Math.max(0.001, last.firstPollsMs())));
        report.heap("task read path", last.heapSeries());

        if (endToEnd) {
            try (EndToEnd e2e = new EndToEnd(data)) {
                // Ours and the ceiling alternate, run by run, so both meet the same JIT and machine state;
                // their ratio is taken pair by pair (measured in blocks, one after the other, the
                // ratio moved between 0.73 and 0.86 with no code change).
                double oursCold = e2e.ours();
                double syntheticCold = e2e.synthetic();
                List<Double> oursRates = new ArrayList<>();
                List<Double> syntheticRates = new ArrayList<>();
                List<Double> pairRatios = new ArrayList<>();
                for (int i = 0; i < Math.max(runs, 5); i++) {
                    oursRates.add(e2e.ours());
                    syntheticRates.add(e2e.synthetic());
                    pairRatios.add(oursRates.get(i) / syntheticRates.get(i));
                }
                Stats ours = Stats.of(oursRates);
                Stats synthetic = Stats.of(syntheticRates);
                Stats ratio = Stats.of(pairRatios);
                String walLevel = walLevel(data);
                Stats debezium = null;
                double debeziumCold = 0;
                if ("logical".equals(walLevel)) {
                    debeziumCold = e2e.debezium();
                    debezium = repeat(runs, e2e::debezium);
                }
                report.line("5. end to end, this connector, warm", "rows/s", ours,
                        String.format("worker + JsonConverter (schemas on); cold %.0f rows/s; ours/ceiling %.2f "
                                + "(median of %d alternating pairs, min %.2f, max %.2f); ours/Debezium %s", oursCold,
                                ratio.median(), pairRatios.size(), ratio.min(), ratio.max(),
                                debezium == null ? String.format("reference (9,400) %.1f", ours.median() / 9400)
                                        : String.format("%.1f", ours.median() / debezium.median())));
                if (debezium != null) {
                    report.line("6. Debezium PostgreSQL 3.7.0.Final, warm", "rows/s", debezium, String.format(
                            "same worker and converters, snapshot.mode=initial_only, pgoutput; cold %.0f rows/s",
                            debeziumCold));
                } else {
                    report.extra("6. Debezium PostgreSQL connector", "skipped: wal_level here is " + walLevel
                            + "; Debezium needs 'ALTER SYSTEM SET wal_level = logical' and a PostgreSQL restart "
                            + "(e.g. pg_ctlcluster --skip-systemctl-redirect 15 main restart). Reference figure "
                            + "measured on this machine class: ~9,400 rows/s for a 1M-row pgbench table");
                }
                e2e.ours(EndToEnd.PRODUCER_OVERRIDES);
                Stats tuned = repeat(runs, () -> e2e.ours(EndToEnd.PRODUCER_OVERRIDES));
                report.line("5b. end to end, this connector, producer overrides", "rows/s", tuned, String.format(
                        "producer.override.linger.ms=20, batch.size=524288, compression.type=lz4; %.2f x line 5",
                        tuned.median() / ours.median()));
                report.line("7. framework ceiling, warm", "rows/s", synthetic,
                        String.format("synthetic source, the same records without a database; cold %.0f rows/s",
                                syntheticCold));
                queryLatency(report, data, e2e.cluster(), latencySeconds);
                if (walLines) {
                    String unavailable = WalBench.unavailable(data);
                    if (unavailable != null) {
                        report.extra("9, 10. capture.mode=wal lines", unavailable);
                    } else {
                        WalBench wal = new WalBench(e2e.cluster(), report);
                        try {
                            wal.drain();
                        } catch (Exception e) { // e.g. no free slot: the other lines' figures are still written
                            System.err.println("9. WAL backlog drain: " + e);
                            report.extra("9. WAL backlog drain", "not measured: " + e);
                        }
                        wal.latency();
                    }
                }
            }
        }
        report.write(Path.of("target", "bench"));
        System.exit(0);
    }

    /**
     * {@code -Dbench.only=snapshot}: the snapshot of the pgbench table end to end, in query mode
     * (line 5), in capture.mode=wal with its chunks beside the stream (5c; the two alternate run
     * by run and their ratio is taken pair by pair) and by Debezium (6), in one worker.
     */
    private static void snapshotLines(double scale, int runs) throws Exception {
        BenchData data = new BenchData(scale);
        data.prepare();
        Report report = new Report();
        describeMachine(report, data);
        try (EndToEnd e2e = new EndToEnd(data)) {
            double queryCold = e2e.ours();
            double walCold = e2e.oursWal(Map.of());
            List<Double> query = new ArrayList<>();
            List<Double> wal = new ArrayList<>();
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < Math.max(runs, 3); i++) {
                query.add(e2e.ours());
                wal.add(e2e.oursWal(Map.of()));
                ratios.add(wal.get(i) / query.get(i));
            }
            Stats ratio = Stats.of(ratios);
            report.line("5. end to end, this connector, capture.mode=query snapshot, warm", "rows/s", Stats.of(query),
                    String.format("snapshot.mode=initial_only; cold %.0f rows/s", queryCold));
            report.line("5c. end to end, this connector, capture.mode=wal snapshot in chunks beside the stream, warm",
                    "rows/s", Stats.of(wal), String.format("snapshot.mode=initial, snapshot.chunk.size=%d; cold %.0f "
                            + "rows/s; wal/query %.2f (median of %d alternating pairs, min %.2f, max %.2f; target >= 0.90)",
                            dev.pgkeyset.connect.config.PgKeysetConfig.SNAPSHOT_CHUNK_SIZE_DEFAULT, walCold,
                            ratio.median(), ratios.size(), ratio.min(), ratio.max()));
            if ("logical".equals(walLevel(data))) {
                e2e.debezium();
                Stats debezium = repeat(runs, e2e::debezium);
                report.line("6. Debezium PostgreSQL 3.7.0.Final, warm", "rows/s", debezium, String.format(
                        "same worker and converters, snapshot.mode=initial_only, pgoutput; 5c/6 %.1f",
                        Stats.of(wal).median() / debezium.median()));
            }
        }
        report.write(Path.of("target", "bench", "snapshot"));
        System.exit(0);
    }

    /** Line 8: query-based changes followed at 100 rows/s, polled every second. */
    private static void queryLatency(Report report, BenchData data, EmbeddedConnectCluster connect, int seconds)
            throws Exception {
        long pollIntervalMs = 1000;
        ChangeLatency.Result latency = new ChangeLatency(data, connect).run("latency",
                ChangeLatency.queryMode(pollIntervalMs), 100, Duration.ofSeconds(seconds));
        report.extra("8. change-to-record latency at 100 rows/s, poll.interval.ms=" + pollIntervalMs,
                String.format("p50 %.0f ms, p99 %.0f ms over %d rows (target p50 <= %d ms)", latency.p50Ms(),
                        latency.p99Ms(), latency.rows(), pollIntervalMs + 200));
    }

    /**
     * {@code -Dbench.only=wal} (lines 9 and 10), {@code wal-drain} (9), {@code wal-latency} (10) or
     * {@code latency} (8 and 10, the query-mode latency beside the WAL one), or {@code wal-read}
     * (9a and 9b: the WAL backlog read without Kafka, by the task alone and by a bare stream in
     * pgoutput's text and binary formats), alone:
     * no pgbench table, a worker of their own with the settings of the end-to-end lines; the
     * report goes to {@code target/bench/wal/}.
     */
    private static void walLinesAlone(String only) throws Exception {
        boolean drain = only.equals("wal") || only.equals("wal-drain");
        boolean latency = only.equals("wal") || only.equals("wal-latency") || only.equals("latency");
        boolean queryLatency = only.equals("latency");
        boolean read = only.equals("wal-read");
        if (!drain && !latency && !read) {
            throw new IllegalArgumentException("bench.only=" + only
                    + ": expected all, wal, wal-drain, wal-latency, wal-read or latency");
        }
        Report report = new Report();
        BenchData postgres = new BenchData(0, "postgres");
        String unavailable = WalBench.unavailable(postgres);
        if (unavailable != null) {
            report.extra("9, 10. capture.mode=wal lines", unavailable);
        } else {
            describeServer(report, postgres);
            if (read) {
                new WalReadPath(report).run();
                report.write(Path.of("target", "bench", "wal-read"));
                System.exit(0);
            }
            EmbeddedConnectCluster connect = EndToEnd.startWorker();
            try {
                if (queryLatency) {
                    BenchData data = new BenchData(0);
                    data.createDatabaseIfMissing();
                    queryLatency(report, data, connect, Integer.getInteger("bench.latencySeconds", 20));
                }
                WalBench wal = new WalBench(connect, report);
                if (drain) {
                    wal.drain();
                }
                if (latency) {
                    wal.latency();
                }
            } finally {
                connect.stop();
            }
        }
        report.write(Path.of("target", "bench", "wal"));
        System.exit(0);
    }

    @FunctionalInterface
    interface Measurement {
        double run() throws Exception;
    }

    private static Stats repeat(int runs, Measurement measurement) throws Exception {
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            values.add(measurement.run());
        }
        return Stats.of(values);
    }

    private static String walLevel(BenchData data) throws Exception {
        try (Connection c = data.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW wal_level")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void describeMachine(Report report, BenchData data) throws Exception {
        report.context("rows", data.rows);
        report.context("table MiB", data.tableBytes() / (1024 * 1024));
        describeServer(report, data);
        System.out.println("Machine: " + Runtime.getRuntime().availableProcessors() + " cores, java "
                + System.getProperty("java.version") + ", " + data.rows + " rows");
    }

    private static void describeServer(Report report, BenchData data) throws Exception {
        report.context("cores", Runtime.getRuntime().availableProcessors());
        report.context("max heap MiB", Runtime.getRuntime().maxMemory() / (1024 * 1024));
        report.context("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        try (Connection c = data.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            report.context("postgresql", rs.getString(1));
        }
    }
}
