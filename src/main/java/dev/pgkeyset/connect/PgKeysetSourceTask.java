package dev.pgkeyset.connect;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.apache.kafka.connect.source.TransactionContext;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.CaptureMode;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.JdbcUrls;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.task.PgWalServer;
import dev.pgkeyset.connect.task.TableSet;
import dev.pgkeyset.connect.task.WalCapture;

/**
 * Reads the tables the connector assigned to it. {@code poll()} returns at most one bounded batch
 * and returns regularly (null when there is nothing to read), because Kafka Connect calls
 * {@link #stop()} on the same thread once {@code poll()} returns.
 */
public class PgKeysetSourceTask extends SourceTask {

    private static final Logger log = LoggerFactory.getLogger(PgKeysetSourceTask.class);

    private TaskConfig config;
    private ConnectionFactory connections;
    private TableSet tables;
    /** capture.mode=wal: publication and slot, snapshots, then the stream; null in query mode. */
    private WalCapture wal;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new TaskConfig(props);
        List<TableSlice> slices = config.slices();
        List<TableId> assigned = config.tables();
        connections = ConnectionFactory.forTask(config, "pgkeyset-task", slices.size());
        try {
            List<TableInfo> infos = describe(assigned);
            if (config.captureMode() == CaptureMode.WAL) {
                wal = WalCapture.open(config, slices, infos, connections, context.offsetStorageReader(),
                        pluginMetrics(), new PgWalServer(config), transactionContext());
            } else {
                tables = TableSet.open(slices, infos, config, connections, context.offsetStorageReader(),
                        pluginMetrics());
            }
        } catch (RuntimeException e) {
            connections.close();
            throw e;
        }
        log.info("Task started with {} table(s) and key range(s): {}", slices.size(), dev.pgkeyset.connect.config
                .Summary.join(slices.stream().map(TableSlice::toString).toList(), ", ", 20));
    }

    private List<TableInfo> describe(List<TableId> assigned) {
        Set<TableId> wanted = new HashSet<>(assigned);
        try (Connection connection = connections.open()) {
            List<TableInfo> infos = Catalog.tables(connection, wanted::contains);
            connection.commit();
            Set<TableId> missing = new HashSet<>(wanted);
            infos.forEach(t -> missing.remove(t.id()));
            if (!missing.isEmpty()) {
                // The connector's discovery will notice and reconfigure the tasks without them.
                log.warn("Table(s) {} no longer exist (dropped or renamed since the connector listed them); "
                        + "not reading them", missing);
            }
            List<TableInfo> ordered = new ArrayList<>(infos.size());
            for (TableId id : assigned) {
                infos.stream().filter(t -> t.id().equals(id)).findFirst().ifPresent(ordered::add);
            }
            return ordered;
        } catch (SQLException e) {
            throw new ConnectException("Could not read the catalog of " + JdbcUrls.redact(config.connectionUrl()) + ": "
                    + SqlErrors.describe(e), e);
        }
    }

    /** Kafka Connect's per-task plugin metrics (KIP-877), or null where the worker offers none. */
    private PluginMetrics pluginMetrics() {
        try {
            return context.pluginMetrics();
        } catch (RuntimeException | LinkageError unavailable) {
            return null;
        }
    }

    /** Null unless the worker lets the connector define transaction boundaries (capture.mode=wal only). */
    private TransactionContext transactionContext() {
        try {
            return context.transactionContext();
        } catch (RuntimeException | LinkageError unavailable) {
            return null;
        }
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        List<SourceRecord> batch = wal != null ? wal.poll() : tables.poll();
        if (batch == null) {
            // Return regularly even when idle: stop() runs on this thread once poll() returns.
            java.time.Duration idle = wal != null ? wal.idleTime(config.pollInterval())
                    : tables.idleTime(config.pollInterval());
            Thread.sleep(Math.max(1, idle.toMillis()));
        }
        return batch;
    }

    /**
     * In capture.mode=wal the slot's confirmed position follows these acknowledgements (metadata
     * null: a record filtered out or failed under errors.tolerance, which counts as done).
     */
    @Override
    public void commitRecord(SourceRecord record, RecordMetadata metadata) {
        if (wal != null) {
            wal.commitRecord(record);
        }
    }

    @Override
    public void stop() {
        if (tables != null) {
            tables.close();
        }
        if (wal != null) {
            wal.close();
        }
        if (connections != null) {
            connections.close();
        }
        log.info("Task stopped");
    }
}
