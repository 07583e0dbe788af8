package dev.pgkeyset.connect.testing;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/** A real KRaft broker and a real distributed Connect worker, in this JVM. */
public final class ConnectFixture {

    private ConnectFixture() {
    }

    /** Worker settings the tests share: JSON with schemas, numeric decimals, quick offset commits. */
    public static Map<String, String> workerProps() {
        Map<String, String> worker = new HashMap<>();
        // Finds the connector through META-INF/services, as a worker with plugin.discovery=service_load would.
        worker.put("plugin.discovery", "service_load");
        worker.put("offset.flush.interval.ms", "500");
        worker.put("key.converter", JsonConverter.class.getName());
        worker.put("value.converter", JsonConverter.class.getName());
        worker.put("key.converter.schemas.enable", "true");
        worker.put("value.converter.schemas.enable", "true");
        worker.put("key.converter.decimal.format", "NUMERIC");
        worker.put("value.converter.decimal.format", "NUMERIC");
        worker.put("scheduled.rebalance.max.delay.ms", "0");
        return worker;
    }

    public static EmbeddedConnectCluster start(String name) throws InterruptedException {
        return start(name, Map.of());
    }

    public static EmbeddedConnectCluster start(String name, Map<String, String> extraWorkerProps)
            throws InterruptedException {
        Map<String, String> worker = workerProps();
        worker.putAll(extraWorkerProps);
        EmbeddedConnectCluster cluster = new EmbeddedConnectCluster.Builder()
                .name(name).numWorkers(1).numBrokers(1).workerProps(worker).build();
        cluster.start();
        cluster.assertions().assertAtLeastNumWorkersAreUp(1, "the Connect worker did not start");
        return cluster;
    }

    /**
     * Throttles every producer of the cluster to {@code bytesPerSecond} (a broker client quota),
     * or lifts the throttle with null. Slows a snapshot down so a test can stop or kill it midway,
     * without any test-only switch in the connector.
     */
    public static void throttleProducers(String bootstrapServers, Double bytesPerSecond) throws Exception {
        ClientQuotaEntity allClients = new ClientQuotaEntity(java.util.Collections.singletonMap(
                ClientQuotaEntity.CLIENT_ID, null));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(allClients,
                    List.of(new ClientQuotaAlteration.Op("producer_byte_rate", bytesPerSecond)))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    /** Test-class teardown: stops the cluster, then drops the database; either may be null. */
    public static void stopAll(EmbeddedConnectCluster connect, TestDatabase db) {
        try {
            if (connect != null) {
                connect.stop();
            }
        } finally {
            if (db != null) {
                db.close();
            }
        }
    }

    /**
     * Samples a connector's task states over REST every 100 ms in the background, to tell whether
     * a task left RUNNING while a test disturbed it: every state other than RUNNING seen after the
     * first RUNNING is kept (FAILED, or the UNASSIGNED of a restart), and FAILED at any time.
     * Status requests that fail (the connector not created yet, the broker away) are skipped. A
     * restart quicker than one sample can be missed; tests pair this with a per-task counter.
     */
    public static final class TaskWatch implements AutoCloseable {

        private final List<String> notRunning = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean running;
        private volatile boolean stop;
        private volatile int samples;

        public TaskWatch(EmbeddedConnectCluster connect, String connector) {
            thread = new Thread(() -> {
                while (!stop) {
                    try {
                        for (ConnectorStateInfo.TaskState task : connect.connectorStatus(connector).tasks()) {
                            samples++;
                            if ("RUNNING".equals(task.state())) {
                                running = true;
                            } else if (running || "FAILED".equals(task.state())) {
                                notRunning.add("task " + task.id() + ": " + task.state() + " " + task.trace());
                            }
                        }
                    } catch (RuntimeException notAvailableNow) {
                        // no state to record
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "task-watch-" + connector);
            thread.setDaemon(true);
            thread.start();
        }

        public int samples() {
            return samples;
        }

        /** Fails unless a task was seen RUNNING and in no other state after that. */
        public void assertAlwaysRunning() {
            if (!running || !notRunning.isEmpty()) {
                throw new AssertionError("Expected the tasks to stay RUNNING; seen RUNNING: " + running
                        + ", other states over " + samples + " samples: " + notRunning);
            }
        }

        /** Fails if a task was seen FAILED (restarts, e.g. by a task reconfiguration, are allowed). */
        public void assertNeverFailed() {
            List<String> failed = notRunning.stream().filter(s -> s.contains(": FAILED ")).toList();
            if (!failed.isEmpty()) {
                throw new AssertionError("A task failed: " + failed);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(5_000);
        }
    }

    public static void waitFor(String what, Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
