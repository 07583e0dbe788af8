package dev.pgkeyset.connect;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.apache.kafka.connect.source.ConnectorTransactionBoundaries;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.CaptureMode;
import dev.pgkeyset.connect.config.ConnectorValidation;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.Summary;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.config.TaskConfig;
import dev.pgkeyset.connect.config.WalPreconditions;
import dev.pgkeyset.connect.config.WalSetupChecks;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.JdbcUrls;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.changes.query.ChangePreconditions;
import dev.pgkeyset.connect.tables.TableDiscovery;
import dev.pgkeyset.connect.snapshot.CommittedSplits;
import dev.pgkeyset.connect.snapshot.RememberedSplits;
import dev.pgkeyset.connect.snapshot.TaskAssignment;
import dev.pgkeyset.connect.task.RetryPolicy;

/**
 * Kafka Connect source connector for PostgreSQL tables, read by keyset over server-side cursors.
 * It lists the captured tables at start, spreads them over tasks, and looks for new or dropped
 * tables every {@code table.discovery.interval.ms}.
 */
public class PgKeysetSourceConnector extends SourceConnector {

    private static final Logger log = LoggerFactory.getLogger(PgKeysetSourceConnector.class);

    /** How long validation, start-up and discovery wait for the database to answer. */
    private static final int CONNECT_TIMEOUT_SECONDS = 10;
    /**
     * How long the start goes on trying after a transient error: long enough for a server restart,
     * short enough not to hold the worker's connector thread (a frozen network takes
     * {@link #CONNECT_TIMEOUT_SECONDS} an attempt).
     */
    private static final long START_RETRY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(15);

    private Map<String, String> props;
    private PgKeysetConfig config;
    /** Key splits sampled whose offsets are not committed yet (see RememberedSplits). */
    private RememberedSplits rememberedSplits;

    /** Replaced by the discovery thread when the set of captured tables changes. */
    private volatile List<CapturedTable> tables;
    private ScheduledExecutorService discovery;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        this.props = Map.copyOf(props);
        this.config = new PgKeysetConfig(props);
        // "name" is the connector's name, which the worker passes with its config.
        this.rememberedSplits = new RememberedSplits(props.get("name"), config.connectionUrl());
        if (config.captureMode() == CaptureMode.WAL) {
            List<WalSetupChecks.Problem> problems = WalPreconditions.configProblems(config, Optional.empty());
            if (!problems.isEmpty()) {
                throw new ConnectException(String.join("; ", problems.stream().map(WalSetupChecks.Problem::message)
                        .toList()));
            }
            WalPreconditions.warnIgnoredKeys(config);
        }
        long start = System.nanoTime();
        TableDiscovery.Result found = discoverRetrying();
        if (!found.problems().isEmpty()) {
            throw new ConnectException(Summary.join(found.problems(), "; ", Summary.PROBLEMS_SHOWN));
        }
        found.skippedViews().forEach(v -> log.warn("{} {} matches table.include.list but is not captured: {}", v.kind(),
                v.id(), config.captureMode() == CaptureMode.WAL ? "capture.mode=wal captures only tables and "
                        + "partitioned tables (a publication holds nothing else)"
                        : "it has no primary key; add it to key.columns to capture it"));
        if (found.captured().isEmpty()) {
            log.warn("No table matches table.include.list {} (after table.exclude.list); the connector is idle",
                    config.getList(PgKeysetConfig.TABLE_INCLUDE_LIST));
        }
        this.tables = found.captured();
        log.info("Capturing {} table(s), listed in {} ms: {}", tables.size(), (System.nanoTime() - start) / 1_000_000,
                Summary.join(names(tables), ", ", Summary.NAMES_SHOWN));
        long interval = config.tableDiscoveryInterval().toMillis();
        if (interval > 0) {
            discovery = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread thread = new Thread(r, "pgkeyset-table-discovery");
                thread.setDaemon(true);
                return thread;
            });
            discovery.scheduleWithFixedDelay(this::rediscover, interval, interval, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The tables, listed as the tasks read: a transient error (the server restarting, a
     * connection refused or cut) is tried again with the tasks' backoff, up to connection.attempts
     * times and for at most 15 s, so a connector started (or moved to another worker) while
     * PostgreSQL restarts comes up once it is back instead of staying FAILED until someone
     * restarts it, and a server gone for longer still fails the start with its error.
     */
    private TableDiscovery.Result discoverRetrying() {
        RetryPolicy retry = RetryPolicy.of(config);
        long deadline = System.nanoTime() + START_RETRY_NANOS;
        for (int failures = 1; ; failures++) {
            try {
                return discover();
            } catch (SQLException e) {
                String what = "Could not list the tables of " + JdbcUrls.redact(config.connectionUrl()) + ": "
                        + SqlErrors.describe(e);
                java.time.Duration wait = retry.backoff(failures);
                if (!SqlErrors.isTransient(e) || retry.exhausted(failures)
                        || System.nanoTime() + wait.toNanos() > deadline) {
                    throw new ConnectException(what + (SqlErrors.isTransient(e) ? " (" + failures
                            + " attempts in " + START_RETRY_NANOS / 1_000_000_000L + " s at most)" : ""), e);
                }
                log.warn("{} (attempt {} of {}); trying again in {} ms", what, failures, retry.maxAttempts(),
                        wait.toMillis());
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new ConnectException(what + " (stopped while waiting to try again)", e);
                }
            }
        }
    }

    private TableDiscovery.Result discover() throws SQLException {
        try (Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS)) {
            TableDiscovery.Result found = TableDiscovery.discover(connection, config);
            // At every start and discovery: a standby, a lost privilege or an unknown zone must not go unnoticed.
            List<ChangePreconditions.Problem> problems = ChangePreconditions.check(connection, config, found.captured());
            if (!problems.isEmpty()) {
                throw new ConnectException(String.join("; ", problems.stream().map(ChangePreconditions.Problem::message)
                        .toList()));
            }
            connection.commit();
            return found;
        }
    }

    /**
     * Runs on the discovery thread: when tables start or stop matching, asks the worker to
     * reconfigure the tasks. A new table that cannot be captured is reported, not fatal: the
     * tables already flowing keep flowing.
     */
    private void rediscover() {
        try {
            TableDiscovery.Result found = discover();
            if (!found.problems().isEmpty()) {
                log.warn("Not capturing {} table(s): {}", found.problems().size(),
                        Summary.join(found.problems(), "; ", Summary.PROBLEMS_SHOWN));
            }
            Set<TableId> before = ids(tables);
            Set<TableId> now = ids(found.captured());
            if (!before.equals(now)) {
                Set<TableId> added = new TreeSet<>(now);
                added.removeAll(before);
                Set<TableId> removed = new TreeSet<>(before);
                removed.removeAll(now);
                log.info("Captured tables changed (added {}: {}; removed {}: {}); reconfiguring the tasks", added.size(),
                        Summary.join(added.stream().map(TableId::toString).toList(), ", ", Summary.NAMES_SHOWN),
                        removed.size(),
                        Summary.join(removed.stream().map(TableId::toString).toList(), ", ", Summary.NAMES_SHOWN));
                tables = found.captured();
                context().requestTaskReconfiguration();
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("Table discovery failed; trying again in {} ms: {}", config.tableDiscoveryInterval().toMillis(),
                    e instanceof SQLException sql ? SqlErrors.describe(sql) : e.toString());
        }
    }

    private static Set<TableId> ids(List<CapturedTable> tables) {
        Set<TableId> ids = new TreeSet<>();
        tables.forEach(t -> ids.add(t.info().id()));
        return ids;
    }

    private static List<String> names(List<CapturedTable> tables) {
        return tables.stream().map(t -> t.info().id().canonical()).toList();
    }

    @Override
    public Class<? extends Task> taskClass() {
        return PgKeysetSourceTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>();
        List<List<TableSlice>> assignment;
        if (config.captureMode() == CaptureMode.WAL) {
            if (maxTasks > 1) {
                log.warn("capture.mode=wal runs one task (one slot, one replication connection); tasks.max={} "
                        + "is not used", maxTasks);
            }
            assignment = TaskAssignment.oneTask(tables);
        } else {
            OffsetStorageReader offsets = context() == null ? null : context().offsetStorageReader();
            assignment = TaskAssignment.assign(tables, maxTasks,
                    new CommittedSplits(config, offsets, CONNECT_TIMEOUT_SECONDS, rememberedSplits));
        }
        for (List<TableSlice> assigned : assignment) {
            Map<String, String> taskProps = new HashMap<>(props);
            taskProps.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(assigned));
            configs.add(taskProps);
        }
        return configs;
    }

    @Override
    public void stop() {
        if (discovery != null) {
            discovery.shutdownNow();
            discovery = null;
        }
    }

    @Override
    public ConfigDef config() {
        return PgKeysetConfig.CONFIG_DEF;
    }

    @Override
    public Config validate(Map<String, String> connectorConfigs) {
        return ConnectorValidation.validate(super.validate(connectorConfigs), connectorConfigs, CONNECT_TIMEOUT_SECONDS);
    }

    /** Offsets are keyset positions: the same rows re-read from one always yield the same records. */
    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
        return ExactlyOnceSupport.SUPPORTED;
    }

    /**
     * In capture.mode=wal the task ends a Kafka transaction where each PostgreSQL transaction
     * ends (and after each snapshot batch), so a read_committed consumer sees every PostgreSQL
     * transaction whole. In query mode the worker's default boundaries (one transaction per batch
     * from {@code poll()}) fit: every batch ends at a keyset position.
     */
    @Override
    public ConnectorTransactionBoundaries canDefineTransactionBoundaries(Map<String, String> connectorConfig) {
        try {
            return new PgKeysetConfig(connectorConfig).captureMode() == dev.pgkeyset.connect.config.CaptureMode.WAL
                    ? ConnectorTransactionBoundaries.SUPPORTED : ConnectorTransactionBoundaries.UNSUPPORTED;
        } catch (RuntimeException invalid) {
            // validate() reports the config's problems on their keys.
            return ConnectorTransactionBoundaries.UNSUPPORTED;
        }
    }

    /** Checks offsets a user writes over REST; a null offset (a reset) is always allowed. */
    @Override
    public boolean alterOffsets(Map<String, String> connectorConfig, Map<Map<String, ?>, Map<String, ?>> offsets) {
        offsets.forEach((partition, offset) -> {
            if (partition != null && partition.containsKey(WalOffset.SLOT)) {
                checkWalOffset(partition, offset);
                return;
            }
            Object table = partition == null ? null : partition.get(TablePartition.TABLE);
            Object range = partition == null ? null : partition.get(TablePartition.RANGE);
            boolean rangeOk = range == null || (range instanceof String r && r.matches("\\d{1,3}")
                    && Integer.parseInt(r) < TaskAssignment.MAX_RANGES);
            if (!(table instanceof String) || !rangeOk || partition.size() != (range == null ? 1 : 2)) {
                throw new ConnectException("A source partition must be {\"" + TablePartition.TABLE
                        + "\": \"<schema>.<table>\"}, or for a key range of a split table {\"" + TablePartition.TABLE
                        + "\": \"<schema>.<table>\", \"" + TablePartition.RANGE + "\": \"<0.."
                        + (TaskAssignment.MAX_RANGES - 1) + ">\"}; found " + partition);
            }
            if (offset != null) {
                try {
                    KeysetOffset parsed = OffsetCodec.fromMap(offset);
                    dev.pgkeyset.connect.offset.RelationOid.of(offset);
                    Object partitions = offset.get(WalOffset.PARTITIONS);
                    if (partitions != null && !(partitions instanceof String)) {
                        throw new IllegalArgumentException("'" + WalOffset.PARTITIONS + "' must be text (the "
                                + "partitions of a partitioned table, as JSON), found " + partitions);
                    }
                    if (partitions != null) {
                        dev.pgkeyset.connect.changes.wal.PartitionFingerprint.decode((String) partitions);
                    }
                    if (range != null && parsed.split() == null) {
                        throw new IllegalArgumentException("the offset of a key range must keep its table's '"
                                + OffsetCodec.SPLIT + "' (copy it from GET /connectors/<name>/offsets)");
                    }
                    if (range != null && Integer.parseInt((String) range) >= parsed.split().ranges()) {
                        throw new IllegalArgumentException("range " + range + " does not exist in a split of "
                                + parsed.split().ranges() + " ranges");
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConnectException("Offset for " + partition + " is invalid: " + e.getMessage());
                }
            }
        });
        return true;
    }

    /** A {"slot": ...} partition holds the position of the WAL stream (capture.mode=wal). */
    private static void checkWalOffset(Map<String, ?> partition, Map<String, ?> offset) {
        if (partition.size() != 1 || !(partition.get(WalOffset.SLOT) instanceof String slot) || slot.isBlank()) {
            throw new ConnectException("The source partition of the WAL stream must be {\"" + WalOffset.SLOT
                    + "\": \"<slot name>\"}; found " + partition);
        }
        if (offset != null) {
            try {
                WalOffset.fromMap(offset);
                String partitions = WalOffset.partitions(offset);
                if (partitions != null) {
                    dev.pgkeyset.connect.changes.wal.PartitionFingerprint.decode(partitions);
                }
            } catch (IllegalArgumentException e) {
                throw new ConnectException("Offset for " + partition + " is invalid: " + e.getMessage()
                        + ". A WAL offset is {\"" + WalOffset.COMMIT_LSN + "\": \"<X/Y>\", \"" + WalOffset.EVENT
                        + "\": <index of the change in its transaction>} (record.format=envelope also writes \""
                        + WalOffset.SUB + "\": 1 for the tombstone after a delete event)");
            }
        }
    }
}
