package dev.pgkeyset.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.connect.source.SourceRecord;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

import dev.pgkeyset.connect.changes.wal.PgOutputDecoder;
import dev.pgkeyset.connect.testing.TaskHarness;

/**
 * Line 9a/9b: what reading the WAL backlog of line 9 costs without Kafka, on one slot that is
 * never confirmed, so every run reads the same backlog again.
 *
 * <ul>
 * <li>9b. A bare {@link PGReplicationStream} (pgjdbc only, no connector) reads the backlog in
 *     pgoutput's text format and in its binary one ({@code binary 'true'}, PostgreSQL 14+), the
 *     runs alternating: rate, payload bytes, the reader's CPU, the walsender's CPU (utime + stime of
 *     its process, from {@code /proc/<pid>/stat}: the server must run on this machine), and for
 *     text also with every message decoded by {@link PgOutputDecoder} (bytes to Strings).</li>
 * <li>9a. The connector's task alone ({@link TaskHarness}: {@code capture.mode=wal},
 *     {@code snapshot.mode=never}, no worker), polled until it has made a record of every
 *     update; the CPU of the polling thread per record, beside the keyset snapshot of the same
 *     table through the same harness. Nothing is acknowledged, so the slot keeps its backlog (in
 *     a worker the acknowledgements run on the producer's thread, not the task's).</li>
 * </ul>
 * Settings: {@code bench.walUpdates}, {@code bench.walTransactions} (as line 9),
 * {@code bench.walReadRuns} (3 of each, after one unmeasured round).
 */
final class WalReadPath {

    static final String SLOT = "wal_bench_read";
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
    private static final double TICKS_PER_SECOND = 100;

    private final BenchData data = new BenchData(0, WalBench.DATABASE);
    private final Report report;

    WalReadPath(Report report) {
        this.report = report;
    }

    /** One bare read of the backlog. */
    record StreamRun(String format, boolean decoded, double seconds, long payloadBytes, long messages,
                     double readerCpuSeconds, double walsenderCpuSeconds) {
    }

    void run() throws Exception {
        data.createDatabaseIfMissing();
        int updates = Integer.getInteger("bench.walUpdates", 200_000);
        int transactions = Integer.getInteger("bench.walTransactions", 1000);
        int runs = Integer.getInteger("bench.walReadRuns", 3);
        WalDrain backlog = new WalDrain(data, null, java.util.Map.of());
        try (ReplicationObjects replication = new ReplicationObjects(data)) {
            backlog.createTable(updates);
            replication.create(SLOT, SLOT, "public." + WalDrain.TABLE);
            double mib = backlog.writeBacklog(updates, transactions);
            Map<String, List<StreamRun>> streams = new LinkedHashMap<>();
            Map<String, List<Double>> taskCpu = new LinkedHashMap<>();
            for (int round = 0; round <= runs; round++) {
                boolean measured = round > 0; // the first round warms the JIT and the server's caches
                List<Runnable> order = new ArrayList<>();
                order.add(() -> keep(measured, streams, bare("text", false, updates)));
                order.add(() -> keep(measured, streams, bare("binary", false, updates)));
                order.add(() -> keep(measured, streams, bare("text", true, updates)));
                order.add(() -> keepCpu(measured, taskCpu, "wal", walTask(updates)));
                order.add(() -> keepCpu(measured, taskCpu, "snapshot", snapshotTask(updates)));
                if (round % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                order.forEach(Runnable::run);
            }
            reportStreams(streams, updates, transactions, mib);
            reportTask(taskCpu, updates);
        }
    }

    private static void keep(boolean measured, Map<String, List<StreamRun>> runs, StreamRun run) {
        System.out.printf("WAL read, bare stream: %s%n", run);
        if (measured) {
            runs.computeIfAbsent(run.format() + (run.decoded() ? " + PgOutputDecoder" : ""), k -> new ArrayList<>())
                    .add(run);
        }
    }

    private static void keepCpu(boolean measured, Map<String, List<Double>> runs, String path, double cpuMicros) {
        System.out.printf("WAL read, task alone, %s: %.2f us CPU/record%n", path, cpuMicros);
        if (measured) {
            runs.computeIfAbsent(path, k -> new ArrayList<>()).add(cpuMicros);
        }
    }

    /**
     * Streams the slot from its (never moved) confirmed position until {@code updates} Update
     * messages and the Commit after the last one have come.
     */
    private StreamRun bare(String format, boolean decode, int updates) {
        Properties props = new Properties();
        props.setProperty("user", data.server().user());
        if (data.server().password() != null) {
            props.setProperty("password", data.server().password());
        }
        props.setProperty("replication", "database");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("assumeMinServerVersion", "10");
        try (Connection connection = DriverManager.getConnection(data.jdbcUrl(), props)) {
            PGConnection pg = connection.unwrap(PGConnection.class);
            int walsender = pg.getBackendPID();
            var builder = pg.getReplicationAPI().replicationStream().logical()
                    .withSlotName(SLOT)
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", SLOT)
                    .withStartPosition(LogSequenceNumber.valueOf(0))
                    .withStatusInterval(10, TimeUnit.SECONDS);
            if (format.equals("binary")) {
                builder = builder.withSlotOption("binary", "true");
            }
            double senderCpuAtStart = processCpuSeconds(walsender);
            long cpuAtStart = THREADS.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            long bytes = 0;
            long messages = 0;
            int seen = 0;
            try (PGReplicationStream stream = builder.start()) {
                while (true) {
                    ByteBuffer payload = stream.read(); // blocks; never confirmed, so the backlog stays
                    messages++;
                    bytes += payload.remaining();
                    byte kind = payload.get(payload.position());
                    if (decode) {
                        PgOutputDecoder.decode(payload);
                    }
                    if (kind == 'U') {
                        seen++;
                    } else if (kind == 'C' && seen >= updates) {
                        break;
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double readerCpu = (THREADS.getCurrentThreadCpuTime() - cpuAtStart) / 1e9;
                double senderCpu = processCpuSeconds(walsender) - senderCpuAtStart;
                return new StreamRun(format, decode, seconds, bytes, messages, readerCpu, senderCpu);
            }
        } catch (Exception e) {
            throw new IllegalStateException("bare " + format + " read of slot " + SLOT + ": " + e, e);
        }
    }

    /** utime + stime of a local process; NaN when it cannot be read (the server runs elsewhere). */
    private static double processCpuSeconds(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            // The fields after the command name, which is in parentheses and may hold blanks.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS_PER_SECOND;
        } catch (Exception notLocal) {
            return Double.NaN;
        }
    }

    /** The connector's task in capture.mode=wal until it made a record of every update: CPU us per record. */
    private double walTask(int updates) {
        Map<String, String> props = taskProps();
        props.put("capture.mode", "wal");
        props.put("snapshot.mode", "never");
        props.put("slot.name", SLOT);
        props.put("publication.name", SLOT);
        props.put("publication.autocreate", "disabled");
        return taskCpuMicrosPerRecord(props, updates);
    }

    /** The keyset snapshot of the same table through the same harness, for comparison. */
    private double snapshotTask(int rows) {
        Map<String, String> props = taskProps();
        props.put("snapshot.mode", "initial_only");
        return taskCpuMicrosPerRecord(props, rows);
    }

    private Map<String, String> taskProps() {
        Map<String, String> props = new HashMap<>(data.connectionProps());
        props.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        props.put("table.include.list", "public\\." + WalDrain.TABLE);
        props.put("topic.prefix", "wal-read");
        props.put("poll.interval.ms", "10");
        return props;
    }

    private static double taskCpuMicrosPerRecord(Map<String, String> props, int records) {
        try (TaskHarness harness = new TaskHarness(props).start()) {
            long cpuAtStart = THREADS.getCurrentThreadCpuTime();
            long made = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (made < records) {
                List<SourceRecord> batch = harness.poll();
                made += batch == null ? 0 : batch.size();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the task made " + made + " of " + records + " records in 5 min");
                }
            }
            // Includes the empty polls' sleeps as no CPU, and the start's first poll (stream open).
            return (THREADS.getCurrentThreadCpuTime() - cpuAtStart) / 1e3 / made;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void reportStreams(Map<String, List<StreamRun>> streams, int updates, int transactions, double mib) {
        String setup = String.format("%,d updates in %,d transactions (%.0f MiB of WAL), slot never confirmed, runs"
                + " alternating", updates, transactions, mib);
        for (Map.Entry<String, List<StreamRun>> entry : streams.entrySet()) {
            List<StreamRun> runs = entry.getValue();
            Stats rate = Stats.of(runs.stream().map(r -> updates / r.seconds()).toList());
            StreamRun first = runs.get(0);
            String note = String.format("%s; payload %.1f MiB (%.0f bytes/update), %,d messages;"
                    + " reader CPU %.2f us/update; walsender CPU %.2f us/update (median of %d)", setup, first.payloadBytes() / (1024.0 * 1024),
                    first.payloadBytes() / (double) updates, first.messages(),
                    Stats.of(runs.stream().map(r -> r.readerCpuSeconds() * 1e6 / updates).toList()).median(),
                    Stats.of(runs.stream().map(r -> r.walsenderCpuSeconds() * 1e6 / updates).toList()).median(),
                    runs.size());
            report.line("9b. bare pgoutput stream, " + entry.getKey(), "updates/s", rate, note);
        }
    }

    private void reportTask(Map<String, List<Double>> cpu, int updates) {
        for (Map.Entry<String, List<Double>> entry : cpu.entrySet()) {
            Stats figure = Stats.of(entry.getValue());
            report.line("9a. task alone (no Kafka), " + (entry.getKey().equals("wal") ? "capture.mode=wal, the backlog"
                    : "keyset snapshot of the same table"), "us CPU/record", figure, String.format("%,d records; CPU of"
                    + " the polling thread per record", updates));
        }
    }
}
