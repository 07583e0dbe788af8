package dev.pgkeyset.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import dev.pgkeyset.connect.testing.ConnectFixture;

/**
 * Rows per second through a real KRaft broker and a real distributed worker with JsonConverter
 * (schemas on), from registering a connector until its topic holds every row: our connector, and
 * the synthetic source that carries the same records without a database.
 */
final class EndToEnd implements AutoCloseable {

    private final BenchData data;
    private final EmbeddedConnectCluster connect;
    private int runs;

    EndToEnd(BenchData data) throws InterruptedException {
        this.data = data;
        this.connect = startWorker();
    }

    /** The worker every end-to-end line runs in (the WAL lines too, so their figures compare). */
    static EmbeddedConnectCluster startWorker() throws InterruptedException {
        Map<String, String> worker = new HashMap<>();
        worker.put("offset.flush.interval.ms", "5000");
        return ConnectFixture.start("bench", worker);
    }

    EmbeddedConnectCluster cluster() {
        return connect;
    }

    double ours() throws Exception {
        return ours(Map.of());
    }

    /** Producer settings for large batches (the worker's policy must allow overrides; Kafka's default does). */
    static final Map<String, String> PRODUCER_OVERRIDES = Map.of(
            "producer.override.linger.ms", "20",
            "producer.override.batch.size", "524288",
            "producer.override.compression.type", "lz4");

    /** This connector with extra connector settings (e.g. {@link #PRODUCER_OVERRIDES}). */
    double ours(Map<String, String> extra) throws Exception {
        String name = "ours-" + (++runs);
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.putAll(extra);
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\.pgbench_accounts");
        config.put("topic.prefix", name);
        config.put("snapshot.mode", "initial_only");
        return timeUntilTopicHoldsAll(name, config, name + ".public.pgbench_accounts");
    }

    /**
     * This connector in capture.mode=wal, snapshot.mode=initial: the snapshot read in watermarked
     * chunks beside the slot's stream (its own slot and publication, dropped afterwards), timed
     * until the topic holds every row.
     */
    double oursWal(Map<String, String> extra) throws Exception {
        String name = "ourswal-" + (++runs);
        String slot = name.replace('-', '_');
        Map<String, String> config = new HashMap<>(data.connectionProps());
        config.putAll(extra);
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", "public\\.pgbench_accounts");
        config.put("topic.prefix", name);
        config.put("capture.mode", "wal");
        config.put("snapshot.mode", "initial");
        config.put("slot.name", slot);
        config.put("publication.name", slot);
        try (ReplicationObjects replication = new ReplicationObjects(data).claim(slot, slot)) {
            return timeUntilTopicHoldsAll(name, config, name + ".public.pgbench_accounts");
        }
    }

    double synthetic() throws Exception {
        String name = "synthetic-" + (++runs);
        String topic = name + ".public.pgbench_accounts";
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", SyntheticSourceConnector.class.getName());
        config.put(SyntheticSourceConnector.ROWS, Long.toString(data.rows));
        config.put(SyntheticSourceConnector.TOPIC, topic);
        return timeUntilTopicHoldsAll(name, config, topic);
    }

    /**
     * Debezium's PostgreSQL connector snapshotting the same table in the same worker, with the same
     * converters ({@code snapshot.mode=initial_only}, pgoutput). Needs {@code wal_level=logical}.
     */
    double debezium() throws Exception {
        String name = "debezium-" + (++runs);
        String slot = name.replace('-', '_');
        Map<String, String> config = debeziumConfig(data, name, "public.pgbench_accounts");
        config.put("slot.name", slot);
        config.put("slot.drop.on.stop", "true");
        config.put("publication.name", "pub_" + slot);
        config.put("publication.autocreate.mode", "filtered");
        config.put("snapshot.mode", "initial_only");
        // The slot goes when the connector stops (slot.drop.on.stop) but the publication stays; and a
        // failed run may leave both: ReplicationObjects drops them in any case.
        try (ReplicationObjects replication = new ReplicationObjects(data).claim(slot, "pub_" + slot)) {
            return timeUntilTopicHoldsAll(name, config, name + ".public.pgbench_accounts");
        }
    }

    /** Debezium's connection settings for {@code data}'s database, pgoutput, one table; slot and modes are the caller's. */
    static Map<String, String> debeziumConfig(BenchData data, String name, String table) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        config.put("database.hostname", data.server().host());
        config.put("database.port", Integer.toString(data.server().port()));
        config.put("database.user", data.server().user());
        if (data.server().password() != null) {
            config.put("database.password", data.server().password());
        }
        config.put("database.dbname", data.database());
        config.put("topic.prefix", name);
        config.put("table.include.list", table);
        config.put("plugin.name", "pgoutput");
        return config;
    }

    private double timeUntilTopicHoldsAll(String name, Map<String, String> config, String topic) throws Exception {
        try {
            return data.rows / secondsUntilTopicHolds(connect, name, config, topic, data.rows).seconds();
        } finally {
            remove(connect, name, topic); // also on failure: a Debezium task would keep its slot active
        }
    }

    /** How long the topic may go without a new record before a timing fails. */
    private static final Duration STALL = Duration.ofMinutes(2);

    /**
     * Seconds from registration to the last record, and to the first (start-up: tasks, slot, first
     * batch), and to the moment the task had handed its last record to the worker; and the CPU
     * seconds this JVM (worker, broker, connector) spent meanwhile, steadier than wall time on a
     * shared machine.
     */
    record Timing(double seconds, double firstRecordSeconds, double jvmCpuSeconds, double handedOverSeconds) {
    }

    /**
     * The records task 0 of connector {@code name} has handed to the worker (Kafka Connect's
     * {@code source-record-poll-total}, read over JMX: the workers run in this JVM); -1 before
     * the task's metrics exist.
     */
    static long polledRecords(String name) {
        try {
            javax.management.ObjectName task = new javax.management.ObjectName(
                    "kafka.connect:type=source-task-metrics,connector=" + name + ",task=0");
            Object total = java.lang.management.ManagementFactory.getPlatformMBeanServer()
                    .getAttribute(task, "source-record-poll-total");
            return total instanceof Number n ? n.longValue() : -1;
        } catch (javax.management.JMException notYet) {
            return -1;
        }
    }

    private static double jvmCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    /**
     * Registers connector {@code name} and returns the time from then until {@code topic}
     * (one partition, created by the worker) holds {@code records} records. Fails at once when a
     * task of the connector FAILED (with its trace), when no record came for {@link #STALL}, and
     * after 30 minutes. Leaves the connector running.
     */
    static Timing secondsUntilTopicHolds(EmbeddedConnectCluster connect, String name, Map<String, String> config,
            String topic, long records) throws Exception {
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        // One admin client for the whole wait, made before the clock starts: EmbeddedKafkaCluster's
        // endOffset makes a new one per call, which cost about 3 % of the JVM's samples at 10 looks a second.
        try (org.apache.kafka.clients.admin.Admin admin = connect.kafka().createAdminClient()) {
            return timeUntilTopicHolds(connect, admin, name, config, topic, records);
        }
    }

    private static Timing timeUntilTopicHolds(EmbeddedConnectCluster connect,
            org.apache.kafka.clients.admin.Admin admin, String name, Map<String, String> config, String topic,
            long records) throws Exception {
        double cpuAtStart = jvmCpuSeconds();
        long start = System.nanoTime();
        connect.configureConnector(name, config);
        TopicPartition partition = new TopicPartition(topic, 0);
        long deadline = start + Duration.ofMinutes(30).toNanos();
        long nextStatusCheck = start;
        long lastEnd = -1;
        long lastProgress = start;
        long firstRecord = 0;
        long handedOver = 0;
        while (true) {
            if (handedOver == 0 && polledRecords(name) >= records) {
                handedOver = System.nanoTime();
            }
            long end;
            try {
                end = endOffset(admin, partition);
            } catch (Exception notYet) {
                end = 0;
            }
            if (end >= records) {
                break;
            }
            long now = System.nanoTime();
            if (end != lastEnd) {
                lastEnd = end;
                lastProgress = now;
                if (firstRecord == 0 && end > 0) {
                    firstRecord = now;
                }
            }
            if (now > deadline || now - lastProgress > STALL.toNanos()) {
                throw new IllegalStateException(name + ": topic holds " + end + " of " + records + " records"
                        + (now > deadline ? "" : ", none added for " + STALL.toSeconds() + " s"));
            }
            if (now >= nextStatusCheck) {
                failIfATaskFailed(connect, name, end, records);
                nextStatusCheck = now + Duration.ofSeconds(2).toNanos();
            }
            Thread.sleep(100);
        }
        long now = System.nanoTime();
        return new Timing((now - start) / 1e9, ((firstRecord == 0 ? now : firstRecord) - start) / 1e9,
                jvmCpuSeconds() - cpuAtStart, ((handedOver == 0 ? now : handedOver) - start) / 1e9);
    }

    /** The partition's end offset; throws while the topic does not exist yet. */
    private static long endOffset(org.apache.kafka.clients.admin.Admin admin, TopicPartition partition)
            throws Exception {
        return admin.listOffsets(Map.of(partition, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                .partitionResult(partition).get(10, java.util.concurrent.TimeUnit.SECONDS).offset();
    }

    /**
     * Deletes the connector and its topic. Called in finally blocks, so a failure here is printed
     * rather than thrown (it would hide the error that got us here).
     */
    static void remove(EmbeddedConnectCluster connect, String name, String topic) {
        try {
            connect.deleteConnector(name);
        } catch (RuntimeException e) {
            System.err.println("Could not delete connector " + name + ": " + e);
        }
        try {
            connect.kafka().deleteTopic(topic);
        } catch (RuntimeException e) {
            System.err.println("Could not delete topic " + topic + ": " + e);
        }
    }

    private static void failIfATaskFailed(EmbeddedConnectCluster connect, String name, long end, long records) {
        ConnectorStateInfo status;
        try {
            status = connect.connectorStatus(name);
        } catch (RuntimeException notCreatedYet) {
            return;
        }
        for (ConnectorStateInfo.TaskState task : status.tasks()) {
            if ("FAILED".equals(task.state())) {
                throw new IllegalStateException(name + ": task " + task.id() + " FAILED with " + end + " of " + records
                        + " records in the topic: " + task.trace());
            }
        }
        if ("FAILED".equals(status.connector().state())) {
            throw new IllegalStateException(name + ": connector FAILED: " + status.connector().trace());
        }
    }

    @Override
    public void close() {
        connect.stop();
    }
}
