package dev.pgkeyset.connect.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.OffsetsTopic;
import dev.pgkeyset.connect.testing.PrivateCluster;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/**
 * One chaos run from start to report: a throwaway PostgreSQL cluster of its own (the fault
 * schedule restarts it; the shared server is never touched), the tables, three Connect workers,
 * the connector, the workload, the faults, then — faults and writes stopped — a wait until every
 * topic's final state equals its table (bounded), and the checks.
 */
final class Chaos {

    private static final String CONNECTOR = "chaos";
    private static final Duration CONVERGENCE = Duration.ofMinutes(3);

    private Chaos() {
    }

    static ChaosReport run(ChaosSettings settings) throws Exception {
        System.out.printf("chaos: %s, seed %d (replay with -Dchaos.seed=%d), %d s of faults%n", settings.variant(),
                settings.seed(), settings.seed(), settings.chaos().toSeconds());
        try (PrivateCluster postgres = PrivateCluster.start(Map.of("max_connections", "120",
                // A killed worker's walsender holds the slot until this passes.
                "wal_sender_timeout", "'10s'"))) {
            TestDatabase db = postgres.createDatabase("chaos");
            ChaosTables tables = new ChaosTables(settings.tables());
            tables.create(db);
            try (ChaosCluster cluster = ChaosCluster.start("chaos-" + (settings.wal() ? "wal" : "query"),
                    settings.exactlyOnce())) {
                return run(settings, postgres, db, cluster);
            }
        }
    }

    private static Map<String, String> connectorConfig(ChaosSettings settings, TestDatabase db, String include) {
        Map<String, String> config;
        if (settings.wal()) {
            config = WalFixture.walConfig(db, CONNECTOR, include, WalFixture.uniqueName("chaos"), "initial");
            if (settings.exactlyOnce()) {
                config.put("transaction.boundary", "connector");
            }
        } else {
            config = db.connectorConfig(CONNECTOR, include);
            config.put("snapshot.mode", "initial");
            config.put("incremental.column", "updated_at");
            config.put("tasks.max", "3");
        }
        if (settings.exactlyOnce()) {
            config.put("exactly.once.support", "required");
        }
        config.put("poll.interval.ms", "500");
        config.put("batch.max.rows", "1000");
        config.put("retry.backoff.ms", "200");
        config.put("retry.backoff.max.ms", "3000");
        return config;
    }

    private static ChaosReport run(ChaosSettings settings, PrivateCluster postgres, TestDatabase db,
                                   ChaosCluster cluster) throws Exception {
        ChaosTables tables = new ChaosTables(settings.tables());
        Map<String, String> config = connectorConfig(settings, db, tables.includeList());
        cluster.connect().configureConnector(CONNECTOR, config);
        cluster.awaitRunning(CONNECTOR, settings.tasks(), "the connector was created");
        if (settings.wal()) {
            // Every change after the slot's position is promised: write only once it exists.
            String slot = config.get("slot.name");
            ConnectFixture.waitFor("slot " + slot + " created", Duration.ofMinutes(2),
                    () -> db.queryLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'")
                            == 1);
        }
        List<String> topics = new ArrayList<>();
        settings.tables().keySet().forEach(t -> topics.add(CONNECTOR + ".public." + t));
        Workload workload = new Workload(db, settings.tables(), settings.wal(), settings.seed() + 1,
                settings.changesPerSecond());
        FaultSchedule schedule = new FaultSchedule(settings.seed(), cluster, postgres, db, CONNECTOR,
                settings.tasks(), settings.minGap(), settings.maxGap());
        long chaosStarted;
        long chaosMillis;
        try (DeliveryObserver observer = new DeliveryObserver(cluster.bootstrapServers(), topics,
                settings.exactlyOnce()); TaskStarts starts = new TaskStarts(cluster.connect(), CONNECTOR)) {
            starts.start();
            workload.start();
            try {
                observer.startWhenTopicsExist(Duration.ofMinutes(2));
                chaosStarted = System.currentTimeMillis();
                schedule.run(settings.chaos());
                chaosMillis = System.currentTimeMillis() - chaosStarted;
            } finally {
                workload.finish();
            }
            System.out.printf("chaos: faults over after %d s; %d changes written; waiting for the topics to equal"
                    + " the tables%n", chaosMillis / 1000, workload.changesCommitted.get());
            Check check = converge(settings, db, observer, workload, topics);
            // Whatever was still on its way (a re-delivery) arrives and is counted as well.
            Thread.sleep(3_000);
            List<DeliveryObserver.Duplicate> duplicates = observer.duplicates();
            List<String> regressions = new ArrayList<>();
            observer.regressions().forEach(r -> regressions.add(r.topic() + " id " + r.id() + ": v=" + r.v()
                    + " after v=" + (r.after() == Workload.DELETED ? "deleted" : Long.toString(r.after()))));
            return new ChaosReport(settings, chaosMillis, ChaosReport.countByKind(schedule.faults()),
                    workload.changesCommitted.get(), workload.statementsUncertain.get(), observer.records(),
                    check.differences, check.missing, duplicates.size(),
                    ChaosReport.notAfterAFault(duplicates, schedule.faults()), regressions,
                    lags(observer, workload), starts.restarts(), new ArrayList<>(starts.failures()),
                    resentBeforeCommitted(settings, cluster, observer));
        }
    }

    private record Check(List<String> differences, List<String> missing) {
    }

    /**
     * How late an offset record may be written after the worker produced the records it covers,
     * and before a restarted task reads it (a flush in flight while a task moves): a record is
     * checked against what was committed this long before it was produced.
     */
    private static final long COMMIT_MARGIN_MILLIS = 5_000;

    /** Records produced before a position committed earlier: the re-delivery bound of at-least-once. */
    private static List<String> resentBeforeCommitted(ChaosSettings settings, ChaosCluster cluster,
                                                      DeliveryObserver observer) throws InterruptedException {
        List<OffsetsTopic.Committed> history;
        try (OffsetsTopic offsets = new OffsetsTopic(cluster.bootstrapServers(), cluster.offsetsTopic(), CONNECTOR,
                settings.exactlyOnce())) {
            history = offsets.history();
        }
        List<String> found;
        int checked;
        int commits;
        if (settings.wal()) {
            CommittedWalPositions committed = CommittedWalPositions.of(history);
            found = observer.resentBeforeCommitted(committed, COMMIT_MARGIN_MILLIS);
            checked = observer.walDeliveries();
            commits = committed.commits();
        } else {
            CommittedQueryPositions committed = CommittedQueryPositions.of(history);
            found = observer.resentBeforeCommitted(committed, COMMIT_MARGIN_MILLIS);
            checked = observer.queryDeliveries();
            commits = committed.commits();
        }
        System.out.printf("chaos: %d records checked against %d offset commits: %d re-sent from before the "
                + "committed offset%n", checked, commits, found.size());
        return found;
    }

    /** Compares until every topic equals its table (and, in wal mode, every committed change arrived), or the time is up. */
    private static Check converge(ChaosSettings settings, TestDatabase db, DeliveryObserver observer,
                                  Workload workload, List<String> topics) throws InterruptedException {
        long deadline = System.nanoTime() + CONVERGENCE.toNanos();
        while (true) {
            List<String> differences = new ArrayList<>();
            for (String table : settings.tables().keySet()) {
                differences.addAll(observer.differences(CONNECTOR + ".public." + table, ChaosTables.rows(db, table)));
            }
            List<String> missing = new ArrayList<>();
            if (settings.wal()) {
                workload.committed().keySet().forEach(version -> {
                    String topic = CONNECTOR + ".public." + version.table();
                    if (!observer.changeDelivered(topic, version.id(), version.v())) {
                        missing.add(topic + " id " + version.id() + " "
                                + (version.v() == Workload.DELETED ? "delete" : "v=" + version.v()));
                    }
                });
            }
            if ((differences.isEmpty() && missing.isEmpty()) || System.nanoTime() > deadline) {
                if (!differences.isEmpty() || !missing.isEmpty()) {
                    System.out.printf("chaos: after %d s the topics still differ from the tables%n",
                            CONVERGENCE.toSeconds());
                }
                return new Check(differences, missing);
            }
            Thread.sleep(1_000);
        }
    }

    /** For each version the workload committed and the observer received: receive time less commit time. */
    private static long[] lags(DeliveryObserver observer, Workload workload) {
        List<Long> lags = new ArrayList<>();
        workload.committed().forEach((version, committedAt) -> {
            Long received = observer.firstDelivery(CONNECTOR + ".public." + version.table(), version.id(),
                    version.v());
            if (received != null) {
                lags.add(Math.max(0, received - committedAt));
            }
        });
        return lags.stream().mapToLong(Long::longValue).toArray();
    }
}
