package dev.pgkeyset.connect.chaos;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.pgkeyset.connect.testing.PrivateCluster;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Faults one after another, drawn from one seeded {@link Random}: which fault, how long it
 * lasts, the quiet gap before the next. The kinds, parameters and order replay exactly from the
 * seed; when each lands relative to the connector's work depends on the machine's timing. After
 * each fault the schedule waits (bounded) until the connector and its tasks report RUNNING again,
 * so faults pile up on a connector that is recovering, not on one that is already down for good.
 */
final class FaultSchedule {

    /** One fault as it happened. */
    record Fault(FaultKind kind, long startedAt, long endedAt, String detail) {
    }

    private final Random random;
    private final ChaosCluster cluster;
    private final PrivateCluster postgres;
    private final TestDatabase db;
    private final String connector;
    private final int tasks;
    private final Duration minGap;
    private final Duration maxGap;
    private final List<Fault> faults = new ArrayList<>();

    FaultSchedule(long seed, ChaosCluster cluster, PrivateCluster postgres, TestDatabase db, String connector, int tasks,
                  Duration minGap, Duration maxGap) {
        this.random = new Random(seed);
        this.cluster = cluster;
        this.postgres = postgres;
        this.db = db;
        this.connector = connector;
        this.tasks = tasks;
        this.minGap = minGap;
        this.maxGap = maxGap;
    }

    /** Injects faults until {@code length} has passed. */
    void run(Duration length) throws Exception {
        long end = System.nanoTime() + length.toNanos();
        while (true) {
            long gap = minGap.toMillis() + (long) (random.nextDouble() * (maxGap.toMillis() - minGap.toMillis()));
            if (System.nanoTime() + gap * 1_000_000 > end) {
                Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));
                return;
            }
            Thread.sleep(gap);
            FaultKind kind = FaultKind.values()[random.nextInt(FaultKind.values().length)];
            long started = System.currentTimeMillis();
            String detail = inject(kind);
            faults.add(new Fault(kind, started, System.currentTimeMillis(), detail));
            System.out.printf("chaos: %tT %s: %s%n", started, kind.words(), detail);
            cluster.awaitRunning(connector, tasks, kind.words() + " (" + detail + ")");
        }
    }

    List<Fault> faults() {
        return faults;
    }

    private String inject(FaultKind kind) throws Exception {
        switch (kind) {
            case WORKER_STOPPED:
                return cluster.stopAWorkerAndStartAnother(random);
            case WORKER_KILLED:
                return cluster.killAWorkerAndStartAnother();
            case CONNECTOR_PAUSED: {
                long pausedMs = 500 + random.nextInt(3000);
                cluster.connect().pauseConnector(connector);
                Thread.sleep(pausedMs);
                cluster.connect().resumeConnector(connector);
                return "paused " + pausedMs + " ms";
            }
            case BACKENDS_TERMINATED:
                return "terminated " + terminateConnectorBackends() + " sessions";
            case POSTGRES_RESTARTED: {
                PrivateCluster.StopMode mode = random.nextBoolean() ? PrivateCluster.StopMode.FAST
                        : PrivateCluster.StopMode.IMMEDIATE;
                long downMs = random.nextInt(3000);
                postgres.stop(mode);
                Thread.sleep(downMs);
                postgres.start();
                return "-m " + mode.name().toLowerCase(java.util.Locale.ROOT) + ", down " + downMs + " ms + restart";
            }
            case BROKER_RESTARTED: {
                long downMs = 1000 + random.nextInt(5000);
                cluster.restartBroker(Duration.ofMillis(downMs));
                return "down " + downMs + " ms";
            }
            default:
                throw new IllegalStateException("unknown fault " + kind);
        }
    }

    /**
     * pg_terminate_backend on every session of the connector (its application_name) and every
     * walsender of the database: what a DBA ending "that connector" does.
     */
    private int terminateConnectorBackends() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                     + " AND (application_name LIKE 'kafka-connect-pg-keyset%' OR backend_type = 'walsender')")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
