package dev.pgkeyset.connect.testing;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.PgKeysetSourceTask;

/**
 * Runs the connector and one task in this thread without a worker, the way Kafka Connect drives
 * them: the connector plans the task, the task polls, and the offsets of the records it returns
 * count as committed (what a worker does once the producer acknowledges them). Restarting keeps
 * those offsets, like a worker restart.
 */
public final class TaskHarness implements AutoCloseable {

    private Map<String, String> connectorProps;
    private final Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
    private PgKeysetSourceTask task;
    /** Non-null after {@link #withConnectorTransactions()}: the records the task asked to end a transaction on. */
    private List<SourceRecord> transactionEnds;

    public TaskHarness(Map<String, String> connectorProps) {
        this.connectorProps = Map.copyOf(connectorProps);
    }

    /**
     * The task is offered a {@link org.apache.kafka.connect.source.TransactionContext}, as a worker
     * with transaction.boundary=connector does; {@link #transactionEnds()} lists the records on
     * which it asked to commit a transaction, in order.
     */
    public TaskHarness withConnectorTransactions() {
        transactionEnds = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        return this;
    }

    /** The connector's config from now on (the next {@link #start()} plans with it), committed offsets kept. */
    public TaskHarness reconfigure(Map<String, String> props) {
        this.connectorProps = Map.copyOf(props);
        return this;
    }

    public List<SourceRecord> transactionEnds() {
        return transactionEnds;
    }

    public TaskHarness start() {
        PgKeysetSourceConnector connector = new PgKeysetSourceConnector();
        connector.initialize(new ConnectorContext());
        connector.start(connectorProps);
        List<Map<String, String>> taskConfigs = connector.taskConfigs(1);
        connector.stop();
        if (taskConfigs.size() != 1) {
            throw new AssertionError("expected one task config, got " + taskConfigs.size());
        }
        return startTask(taskConfigs.get(0));
    }

    /**
     * Starts a task with the given task config, as if the connector had planned it (e.g. key
     * ranges of a split the test chose); offsets put in {@link #committed()} before count as committed.
     */
    public TaskHarness startTask(Map<String, String> taskConfig) {
        task = new PgKeysetSourceTask();
        task.initialize(new Context(taskConfig));
        task.start(taskConfig);
        return this;
    }

    /** The connector sees the committed offsets too, as in a worker. */
    private final class ConnectorContext implements org.apache.kafka.connect.source.SourceConnectorContext {
        @Override
        public OffsetStorageReader offsetStorageReader() {
            return new Context(Map.of()).offsetStorageReader();
        }

        @Override
        public void requestTaskReconfiguration() {
        }

        @Override
        public void raiseError(Exception e) {
            throw new AssertionError("the connector raised an error", e);
        }

        @Override
        public PluginMetrics pluginMetrics() {
            return null;
        }
    }

    /** One poll; the returned records' offsets count as committed. */
    public List<SourceRecord> poll() throws InterruptedException {
        List<SourceRecord> records = task.poll();
        if (records != null) {
            for (SourceRecord record : records) {
                @SuppressWarnings("unchecked")
                Map<String, Object> partition = (Map<String, Object>) record.sourcePartition();
                @SuppressWarnings("unchecked")
                Map<String, Object> offset = (Map<String, Object>) record.sourceOffset();
                committed.put(partition, offset);
            }
        }
        return records;
    }

    /**
     * Acknowledges {@code record} as a worker does once the producer has it
     * ({@code SourceTask.commitRecord}); {@link #poll} alone acknowledges nothing, so the slot of a
     * WAL task is confirmed only while it is idle.
     */
    public void acknowledge(SourceRecord record) throws InterruptedException {
        task.commitRecord(record, null);
    }

    /** Polls until a poll returns nothing, handing every record to {@code each}; returns the record count. */
    public long pollUntilIdle(Consumer<SourceRecord> each) throws InterruptedException {
        long count = 0;
        List<SourceRecord> records;
        while ((records = poll()) != null) {
            records.forEach(each);
            count += records.size();
        }
        return count;
    }

    public Map<Map<String, Object>, Map<String, Object>> committed() {
        return committed;
    }

    public void stop() {
        if (task != null) {
            task.stop();
            task = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    private final class Context implements SourceTaskContext {
        private final Map<String, String> configs;

        Context(Map<String, String> configs) {
            this.configs = configs;
        }

        @Override
        public Map<String, String> configs() {
            return configs;
        }

        @Override
        public OffsetStorageReader offsetStorageReader() {
            return new OffsetStorageReader() {
                @Override
                public <T> Map<String, Object> offset(Map<String, T> partition) {
                    return committed.get(partition);
                }

                @Override
                public <T> Map<Map<String, T>, Map<String, Object>> offsets(Collection<Map<String, T>> partitions) {
                    Map<Map<String, T>, Map<String, Object>> result = new HashMap<>();
                    for (Map<String, T> partition : partitions) {
                        Map<String, Object> offset = committed.get(partition);
                        if (offset != null) {
                            result.put(partition, offset);
                        }
                    }
                    return result;
                }
            };
        }

        @Override
        public PluginMetrics pluginMetrics() {
            return null;
        }

        @Override
        public org.apache.kafka.connect.source.TransactionContext transactionContext() {
            if (transactionEnds == null) {
                return null;
            }
            return new org.apache.kafka.connect.source.TransactionContext() {
                @Override
                public void commitTransaction() {
                    throw new AssertionError("the task asked to commit at the end of a batch; it names records");
                }

                @Override
                public void commitTransaction(SourceRecord record) {
                    transactionEnds.add(record);
                }

                @Override
                public void abortTransaction() {
                    throw new AssertionError("the task aborted a transaction");
                }

                @Override
                public void abortTransaction(SourceRecord record) {
                    throw new AssertionError("the task aborted a transaction");
                }
            };
        }
    }
}
