package dev.pgkeyset.connect.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.connect.util.clusters.WorkerHandle;

import dev.pgkeyset.connect.testing.ConnectFixture;
import dev.pgkeyset.connect.testing.ForkedWorker;

/**
 * Three distributed Connect workers of one group on one KRaft broker: two in this JVM (an
 * {@link EmbeddedConnectCluster}, which can stop one cleanly and add another) and one in a JVM
 * of its own ({@link ForkedWorker}), the one that can be killed with SIGKILL — no task stop, no
 * last offset commit — as a crash or the OOM killer would. The forked worker joins the embedded
 * workers' group, since both are given the same group id and internal topics.
 */
final class ChaosCluster implements AutoCloseable {

    private static final Duration RECOVERY = Duration.ofMinutes(3);

    private final EmbeddedConnectCluster connect;
    private final String group;
    private final Map<String, String> forkedProps;
    private final Path forkedDir;
    private ForkedWorker forked;

    private ChaosCluster(EmbeddedConnectCluster connect, String group, Map<String, String> forkedProps,
                         Path forkedDir) {
        this.connect = connect;
        this.group = group;
        this.forkedProps = forkedProps;
        this.forkedDir = forkedDir;
    }

    static ChaosCluster start(String name, boolean exactlyOnce) throws Exception {
        String group = "chaos-" + name + "-" + Long.toHexString(System.nanoTime());
        Map<String, String> worker = ConnectFixture.workerProps();
        worker.put("group.id", group);
        worker.put("config.storage.topic", group + "-configs");
        worker.put("offset.storage.topic", group + "-offsets");
        worker.put("status.storage.topic", group + "-status");
        worker.put("config.storage.replication.factor", "1");
        worker.put("offset.storage.replication.factor", "1");
        worker.put("status.storage.replication.factor", "1");
        Map<String, String> forkedProps = new HashMap<>();
        if (exactlyOnce) {
            worker.put("exactly.once.source.support", "enabled");
            forkedProps.put("exactly.once.source.support", "enabled");
        }
        Properties broker = new Properties();
        // One broker: the transaction log (exactly-once) must not ask for three replicas.
        broker.put("transaction.state.log.replication.factor", "1");
        broker.put("transaction.state.log.min.isr", "1");
        EmbeddedConnectCluster connect = new EmbeddedConnectCluster.Builder().name(name).numWorkers(2).numBrokers(1)
                .workerProps(worker).brokerProps(broker).build();
        connect.start();
        connect.assertions().assertAtLeastNumWorkersAreUp(2, "the two embedded Connect workers did not start");
        ChaosCluster cluster = new ChaosCluster(connect, group, forkedProps, Path.of("target", "chaos-workers"));
        try {
            cluster.forked = cluster.startForked();
        } catch (Exception | Error e) {
            connect.stop();
            throw e;
        }
        return cluster;
    }

    private ForkedWorker startForked() throws Exception {
        return ForkedWorker.start(connect.kafka().bootstrapServers(), group, forkedDir, forkedProps);
    }

    EmbeddedConnectCluster connect() {
        return connect;
    }

    /** The workers' offsets topic (offset.storage.topic). */
    String offsetsTopic() {
        return group + "-offsets";
    }

    String bootstrapServers() {
        return connect.kafka().bootstrapServers();
    }

    /** One of the embedded workers stopped as an operator would (its tasks stop, offsets are committed), then a new one. */
    String stopAWorkerAndStartAnother(Random random) {
        List<WorkerHandle> workers = new ArrayList<>(connect.workers());
        WorkerHandle victim = workers.get(random.nextInt(workers.size()));
        connect.removeWorker(victim);
        WorkerHandle added = connect.addWorker();
        return "stopped " + victim + ", started " + added;
    }

    /** The forked worker killed with SIGKILL, then a new forked worker started in its place. */
    String killAWorkerAndStartAnother() throws Exception {
        forked.kill();
        forked = startForked();
        return "killed the forked worker, started another";
    }

    /** The broker stopped for {@code down}, then started again on the same port. */
    void restartBroker(Duration down) throws InterruptedException {
        connect.kafka().stopOnlyBrokers();
        Thread.sleep(down.toMillis());
        connect.kafka().restartOnlyBrokers();
    }

    /**
     * Waits until the connector and {@code tasks} tasks report RUNNING over REST. A task on a
     * killed worker still shows RUNNING until the group notices (session.timeout.ms), so this
     * is a floor, not proof that every task works: the checker at the end is.
     */
    void awaitRunning(String connector, int tasks, String after) throws InterruptedException {
        ConnectFixture.waitFor("connector " + connector + " and " + tasks + " tasks RUNNING after " + after,
                RECOVERY, () -> {
                    try {
                        ConnectorStateInfo status = connect.connectorStatus(connector);
                        status.tasks().stream().filter(t -> "FAILED".equals(t.state())).findFirst().ifPresent(t -> {
                            throw new AssertionError("task " + t.id() + " FAILED after " + after + ": " + t.trace());
                        });
                        return "RUNNING".equals(status.connector().state()) && status.tasks().size() == tasks
                                && status.tasks().stream().allMatch(t -> "RUNNING".equals(t.state()));
                    } catch (RuntimeException notAnsweringNow) {
                        return false;
                    }
                });
    }

    @Override
    public void close() throws InterruptedException {
        try {
            if (forked != null) {
                forked.close();
            }
        } finally {
            connect.stop();
        }
    }
}
