package dev.pgkeyset.connect.task;

import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.TransactionContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.wal.PartitionWatch;
import dev.pgkeyset.connect.snapshot.LeafCopy;
import dev.pgkeyset.connect.changes.wal.WalChangeReader;
import dev.pgkeyset.connect.changes.wal.WalStats;
import dev.pgkeyset.connect.changes.wal.WalStream;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.RelationOid;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;
import dev.pgkeyset.connect.record.RecordBatch;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * A task in capture.mode=wal: publication and slot made ready first (the slot's position is then
 * fixed before any snapshot reads a row), then the slot's stream, with the tables' snapshots read
 * in chunks beside it ({@link ChunkedSnapshot}: each chunk's rows join the stream at the chunk's
 * watermark, so no record is older than one before it for the same key, and the slot keeps
 * moving while a table snapshots). A table added later comes with a reconfiguration, hence a new
 * start: the publication is extended and the table snapshotted in chunks while the stream goes
 * on from the slot; so is a table whose offsets were deleted.
 *
 * <p>Where the server cannot carry watermarks (PostgreSQL before 14 has no {@code messages} in
 * pgoutput; a standby cannot write to the WAL) the snapshots run first, with the keyset readers
 * of snapshot.mode=initial_only, and the stream only after them: its records could be older
 * than a snapshot row handed over after them, so it is not read meanwhile.
 *
 * <p>Stream faults: transient ones are retried with the task's backoff ({@link RetryPolicy},
 * connection.attempts in a row); a slot held by another backend is waited for without limit;
 * a slot that is gone fails the task (the ConnectException from {@link WalServer#open}).
 */
public final class WalCapture implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalCapture.class);

    /** How long the task sleeps between two empty reads of an open stream: bounds the added latency. */
    private static final Duration STREAM_IDLE = Duration.ofMillis(10);
    /** The longest wait between two looks at a slot held by another backend. */
    private static final Duration SLOT_IN_USE_MAX_WAIT = Duration.ofSeconds(5);

    private final PgKeysetConfig config;
    private final WalServer server;
    private final WalChangeReader reader;
    private final WalStats stats;
    private final RetryPolicy retry;
    private final TransactionContext transactions;
    private final boolean noTables;
    /** The captured tables, whose presence in the publication each sample checks. */
    private final List<TableInfo> captured;
    /** Partition maintenance of the captured partitioned tables; null when none is captured. */
    private final PartitionWatch partitions;
    private final ConnectionFactory connections;
    /** The snapshots read before the stream, where the server cannot carry watermarks; else null. */
    private TableSet snapshot;
    /** The snapshots read in chunks beside the stream; null when there are none or the server cannot. */
    private ChunkedSnapshot chunks;
    /** The captured tables' plans as the task started, for the copies of partitions (a chunk follows later columns). */
    private final Map<TableId, TablePlan> plans;
    private WalStream stream;
    /** What a table snapshot's record carries in its offset besides its position ({@link #markTableRecords}). */
    private java.util.function.UnaryOperator<SourceRecord> markTableRecord = java.util.function.UnaryOperator.identity();
    private int failures;
    /** Opens refused in a row because another backend streamed the slot. */
    private int inUseWaits;
    private long notBeforeNanos;
    private long lastConfirmed;
    private long confirmedMovedNanos = System.nanoTime();
    private long sampledNanos;
    /** catalog.check.interval.ms: between two samples of the slot and looks at the catalog. */
    private final long catalogCheckNanos;

    private WalCapture(PgKeysetConfig config, WalServer server, WalChangeReader reader, WalStats stats,
                       TableSet snapshot, ChunkedSnapshot chunks, TransactionContext transactions,
                       List<TableInfo> captured, PartitionWatch partitions, ConnectionFactory connections,
                       Map<TableId, TablePlan> plans) {
        this.plans = plans;
        this.partitions = partitions;
        this.connections = connections;
        this.chunks = chunks;
        this.noTables = captured.isEmpty();
        this.captured = captured;
        this.config = config;
        this.catalogCheckNanos = config.catalogCheckInterval().toNanos();
        this.server = server;
        this.reader = reader;
        this.stats = stats;
        this.snapshot = snapshot;
        this.transactions = transactions;
        this.retry = ReaderSettings.of(config).retry();
    }

    /**
     * @param transactions null unless the worker lets the connector define transaction boundaries
     */
    public static WalCapture open(PgKeysetConfig config, List<TableSlice> slices, List<TableInfo> tables,
                                  ConnectionFactory connections, OffsetStorageReader offsets, PluginMetrics metrics,
                                  WalServer server, TransactionContext transactions) {
        Map<TableId, TablePlan> plans = new LinkedHashMap<>();
        for (TableInfo info : tables) {
            CapturedTable.Resolution resolution = CapturedTable.resolve(info, config);
            if (!resolution.ok()) {
                throw new ConnectException(resolution.problem());
            }
            plans.put(info.id(), new TablePlan(resolution.table(), config));
        }
        String slot = config.slotName();
        WalOffset committed = WalStart.committedOffset(offsets, slot);
        Map<Map<String, Object>, Map<String, Object>> tableOffsets = plans.isEmpty() ? Map.of()
                : offsets.offsets(plans.values().stream().map(TablePlan::partition).toList());
        Set<TableId> snapshotted = WalStart.tablesWithOffsets(tableOffsets, plans);
        failIfReplaced(plans, tableOffsets);
        try {
            server.prepare(List.copyOf(tables), committed != null || !snapshotted.isEmpty(), snapshotted);
        } catch (SQLException e) {
            throw new ConnectException("Could not prepare publication '" + config.publicationName() + "' and slot '"
                    + config.slotName() + "': " + SqlErrors.describe(e), e);
        }
        WalStart.failIfAheadOfTheServer(server, slot, committed);
        WalStats stats = new WalStats();
        stats.register(metrics, slot);
        WalChangeReader reader = new WalChangeReader(plans, connections, config.truncateHandling(), slot, committed,
                WalOffset.markedWithTransactionMetadata(offsets.offset(WalOffset.partition(slot))), stats,
                config.provideTransactionMetadata() ? config.transactionTopic() : null);
        List<TableId> partitioned = tables.stream().filter(t -> plans.containsKey(t.id())
                && t.kind() == TableKind.PARTITIONED_TABLE).map(TableInfo::id).toList();
        boolean messages = (config.snapshotChunked() || !partitioned.isEmpty()) && !plans.isEmpty()
                && WalStart.streamsWatermarks(server, slot);
        Map<TableId, String> tableFingerprints = new java.util.HashMap<>();
        for (TableId root : partitioned) {
            String text = WalOffset.partitions(tableOffsets.get(plans.get(root).partition()));
            if (text != null) {
                tableFingerprints.put(root, text);
            }
        }
        PartitionWatch partitions = watchPartitions(config, connections, partitioned, plans.keySet(), snapshotted,
                messages, WalOffset.partitions(offsets.offset(WalOffset.partition(slot))), tableFingerprints);
        reader.watchPartitions(partitions);
        if (config.snapshotMode() != SnapshotMode.NEVER) {
            Set<TableId> fromTheStart = new java.util.HashSet<>(plans.keySet());
            fromTheStart.removeAll(snapshotted);
            try {
                reader.snapshottedFromTheStart(fromTheStart);
            } catch (SQLException e) {
                throw new ConnectException("Could not read the server's WAL position before the snapshots: "
                        + SqlErrors.describe(e), e);
            }
        }
        TableSet snapshot = null;
        ChunkedSnapshot chunks = null;
        if (config.snapshotMode() != SnapshotMode.NEVER && !plans.isEmpty()) {
            if (config.snapshotChunked() && messages) {
                chunks = ChunkedSnapshot.open(WalStart.inSliceOrder(slices, plans), tableOffsets, connections,
                        ReaderSettings.of(config), config.snapshotChunkSize(), config.batchMaxBytes(), metrics, stats);
                reader.interleave(chunks);
            } else {
                log.info("Slot '{}': {}; the snapshots run first and the stream after them", slot,
                        config.snapshotChunked() ? "this server cannot carry snapshot watermarks (PostgreSQL before 14, "
                                + "or a standby)" : "snapshot.chunked=false");
                snapshot = TableSet.open(slices, tables, config, connections, offsets, metrics);
            }
        }
        if (chunks == null && partitions != null && partitions.copiesLeaves()) {
            // No table to snapshot beside the stream, but a partition attached with rows is copied so.
            chunks = ChunkedSnapshot.open(List.of(), tableOffsets, connections, ReaderSettings.of(config),
                    config.snapshotChunkSize(), config.batchMaxBytes(), metrics, stats);
            reader.interleave(chunks);
        }
        java.util.function.UnaryOperator<SourceRecord> markTableRecord = markTableRecords(plans, partitions);
        if (chunks != null) {
            chunks.markTableRecordsWith(markTableRecord);
        }
        log.info("WAL capture of {} table(s) through slot '{}' and publication '{}'; {}", plans.size(), slot,
                config.publicationName(), committed == null ? "no committed WAL offset"
                        : "resuming after commit LSN " + WalOffset.formatLsn(committed.commitLsn()) + " event "
                                + committed.event());
        if (plans.isEmpty()) {
            log.warn("No captured table: the task does not stream slot '{}' until discovery finds one", slot);
        }
        WalCapture capture = new WalCapture(config, server, reader, stats, snapshot, chunks, transactions,
                tables.stream().filter(t -> plans.containsKey(t.id())).toList(), partitions, connections, plans);
        capture.markTableRecord = markTableRecord;
        return capture;
    }

    /** The watch over the captured partitioned tables' partitions (null when none is captured). */
    private static PartitionWatch watchPartitions(PgKeysetConfig config, ConnectionFactory connections,
                                                  List<TableId> partitioned, Set<TableId> captured,
                                                  Set<TableId> withOffsets, boolean messages,
                                                  String committedPartitions, Map<TableId, String> tableFingerprints) {
        if (partitioned.isEmpty()) {
            return null;
        }
        Set<TableId> fromTheStart = new java.util.HashSet<>();
        if (config.snapshotMode() != SnapshotMode.NEVER) {
            fromTheStart.addAll(captured);
            fromTheStart.removeAll(withOffsets);
        }
        try (java.sql.Connection connection = connections.open()) {
            PartitionWatch watch = PartitionWatch.open(connection, partitioned, config.truncateHandling(), fromTheStart,
                    messages, committedPartitions, tableFingerprints);
            connection.rollback();
            return watch;
        } catch (SQLException e) {
            throw new ConnectException("Could not read the partitions of " + partitioned + ": "
                    + SqlErrors.describe(e), e);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("The committed offset of slot '" + config.slotName() + "' is malformed: "
                    + e.getMessage() + ". Correct or delete it with PATCH/DELETE /connectors/<name>/offsets.", e);
        }
    }


    /** The next batch, or null when there is nothing now. */
    public List<SourceRecord> poll() {
        if (noTables) {
            // No publication to stream (one cannot be FOR TABLE nothing): idle until discovery finds a table.
            return null;
        }
        if (snapshot != null) {
            if (!snapshot.finished()) {
                List<SourceRecord> batch = snapshot.poll();
                if (batch != null) {
                    batch.replaceAll(markTableRecord);
                }
                if (batch != null && transactions != null) {
                    transactions.commitTransaction(batch.get(batch.size() - 1));
                }
                return batch;
            }
            snapshot.close();
            snapshot = null;
            log.info("Snapshots done; streaming changes from slot '{}'", config.slotName());
        }
        if (stream == null && !openStream()) {
            return null;
        }
        if (chunks != null) {
            startLeafCopies();
            chunks.takeChunkIfDue();
            if (chunks.finished() && (partitions == null || !partitions.copiesLeaves())) {
                reader.interleave(null);
                chunks.close();
                chunks = null;
            }
        }
        RecordBatch batch = new RecordBatch(config.batchMaxRows(), config.batchMaxBytes());
        try {
            reader.readInto(batch, stream, transactions);
            failures = 0;
            confirm();
        } catch (SQLException e) {
            // The records already in the batch are handed over: the reader counts them as produced.
            streamFailed(e);
            return batch.isEmpty() ? null : batch.records();
        }
        try {
            heartbeatAndSample();
        } catch (SQLException e) {
            // Only the heartbeat or a metrics sample failed: the stream is fine, try again later.
            log.warn("Slot '{}': heartbeat or metrics sample failed: {}", config.slotName(), SqlErrors.describe(e));
        }
        return batch.isEmpty() ? null : batch.records();
    }

    /** Queues the copies of partitions attached with rows that the watch asked for (the stream reached them). */
    private void startLeafCopies() {
        if (partitions == null) {
            return;
        }
        for (long stopped : partitions.takeCopiesToStop()) {
            chunks.stopCopy(stopped);
        }
        for (PartitionWatch.Copy copy : partitions.takeCopiesToStart()) {
            TablePlan plan = plans.get(copy.change().table());
            if (plan == null) {
                continue; // not captured by this task (the watch knows only captured tables)
            }
            long oid = copy.change().oid();
            chunks.copyLeaf(plan, new LeafCopy(copy.change().partition(), oid), copy.id(),
                    () -> partitions.copied(oid, copy.id()));
        }
    }

    private boolean openStream() {
        if (System.nanoTime() < notBeforeNanos) {
            return false;
        }
        try {
            // Watermarks and partition changes come as logical messages, which pgoutput sends only when asked to.
            stream = chunks != null || (partitions != null && partitions.inStream()) ? server.openWithMessages()
                    : server.open();
            inUseWaits = 0;
            lastConfirmed = stream.confirmedLsn();
            confirmedMovedNanos = System.nanoTime();
            return true;
        } catch (SQLException e) {
            streamFailed(e);
            return false;
        }
    }

    private void streamFailed(SQLException e) {
        if (stream != null) {
            try {
                stream.close();
            } catch (RuntimeException ignored) {
                // already broken
            }
            stream = null;
            reader.streamRestarted();
        }
        if (server.waitsWithoutLimit(e)) {
            // Looked at again soon (the old walsender may end any moment), with no attempt limit.
            inUseWaits++;
            Duration backoff = retry.backoff(inUseWaits);
            Duration wait = backoff.compareTo(SLOT_IN_USE_MAX_WAIT) < 0 ? backoff : SLOT_IN_USE_MAX_WAIT;
            log.warn("Slot '{}' cannot be streamed yet: {}; waiting {} ms and trying again (an old walsender lives "
                    + "until wal_sender_timeout)", config.slotName(), SqlErrors.describe(e), wait.toMillis());
            notBeforeNanos = System.nanoTime() + wait.toNanos();
            return;
        }
        // 42P01 from a read by name beside the stream (unchanged TOAST values fetched by key) while a
        // captured table is renamed away: retried like a transient error, from the confirmed position
        // (nothing was acknowledged past it), until the name is back or connection.attempts runs out.
        if (!SqlErrors.isTransient(e) && !SqlErrors.isUndefinedTable(e)) {
            throw new ConnectException("The WAL stream of slot '" + config.slotName() + "' failed: "
                    + SqlErrors.describe(e), e);
        }
        failures++;
        if (retry.exhausted(failures)) {
            throw new ConnectException("The WAL stream of slot '" + config.slotName() + "' failed " + failures
                    + " times in a row (connection.attempts); last error: " + SqlErrors.describe(e), e);
        }
        Duration backoff = retry.backoff(failures);
        log.warn("The WAL stream of slot '{}' failed ({}), attempt {} of {}; reconnecting in {} ms",
                config.slotName(), SqlErrors.describe(e), failures, retry.maxAttempts(), backoff.toMillis());
        notBeforeNanos = System.nanoTime() + backoff.toNanos();
    }

    /** Tells the slot what Kafka Connect has acknowledged (or, while idle, everything received). */
    private void confirm() {
        long position = reader.confirmablePosition(stream.receivedLsn());
        if (Long.compareUnsigned(position, stream.confirmedLsn()) > 0) {
            stream.confirm(position);
        }
        long now = System.nanoTime();
        if (stream.confirmedLsn() != lastConfirmed) {
            lastConfirmed = stream.confirmedLsn();
            confirmedMovedNanos = now;
        }
    }

    /**
     * While nothing captured changes, the confirmed position follows the server's keepalives;
     * when it has not moved for heartbeat.interval.ms, a message is written to the WAL so the
     * walsender has something to send past. Every catalog.check.interval.ms, also samples the
     * slot's positions for the metrics and looks in the catalog (publication, partitions).
     */
    private void heartbeatAndSample() throws SQLException {
        long now = System.nanoTime();
        Duration interval = config.heartbeatInterval();
        if (!interval.isZero() && reader.idle() && now - confirmedMovedNanos >= interval.toNanos()) {
            server.heartbeat();
            confirmedMovedNanos = now;
        }
        if (now - sampledNanos >= catalogCheckNanos) {
            sampledNanos = now;
            long[] positions = server.positions();
            if (positions != null) {
                stats.sample(positions[0], stream.receivedLsn(), positions[1]);
            }
            failIfPublicationChanged();
            if (partitions != null) {
                lookAtPartitions();
            }
        }
    }

    /**
     * One look at the captured tables' partitions. A look that is refused for lack of a privilege
     * (a new partition the role may not read) would fail at every sample while partition changes
     * went unseen, so it fails the task, naming what to grant; other errors are tried again at the
     * next sample (the watch compares with its last successful look, so nothing is missed).
     */
    private void lookAtPartitions() throws SQLException {
        try (java.sql.Connection connection = connections.open()) {
            partitions.check(connection);
            if (!connection.getAutoCommit()) {
                connection.commit();
            }
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw new ConnectException("The partitions of the captured partitioned tables cannot be checked: "
                        + SqlErrors.describe(e) + ". The connector's role needs SELECT on every partition of them "
                        + "(GRANT SELECT ON <partition> TO <role>, e.g. on each new partition, or ALTER DEFAULT "
                        + "PRIVILEGES), since partition maintenance is not in the WAL and is looked for there.", e);
            }
            throw e;
        }
    }

    /**
     * What a table snapshot's record ({@code {"table": ...}}) carries in its offset besides its
     * position: the OID of the relation it was read from ({@link RelationOid}), and for a watched
     * partitioned table its partitions ({@code PartitionWatch.withPartitions}).
     */
    private static java.util.function.UnaryOperator<SourceRecord> markTableRecords(Map<TableId, TablePlan> plans,
                                                                                    PartitionWatch partitions) {
        Map<String, Long> oids = new java.util.HashMap<>();
        plans.values().stream().filter(plan -> plan.oid() != 0).forEach(plan -> oids.put(plan.id().toString(),
                plan.oid()));
        return record -> {
            SourceRecord marked = partitions == null ? record : partitions.withPartitions(record);
            Object table = marked.sourcePartition() == null ? null
                    : marked.sourcePartition().get(dev.pgkeyset.connect.offset.TablePartition.TABLE);
            Long oid = table == null || marked.sourceOffset() == null ? null : oids.get(table.toString());
            return oid == null ? marked : RelationOid.mark(marked, oid);
        };
    }

    /**
     * A table whose committed offset names another relation than the one its name holds now was
     * swapped for another (RENAME) or dropped and made again while no task read its changes: its
     * topic holds the old relation's rows, none of the new one's from before. Fails, naming it.
     */
    private static void failIfReplaced(Map<TableId, TablePlan> plans,
                                       Map<Map<String, Object>, Map<String, Object>> tableOffsets) {
        for (TablePlan plan : plans.values()) {
            Long copiedFrom;
            try {
                copiedFrom = RelationOid.of(tableOffsets.get(plan.partition()));
            } catch (IllegalArgumentException e) {
                throw new ConnectException("The committed offset of table " + plan.id() + " is malformed (" + e.getMessage()
                        + "). Correct or delete it with PATCH/DELETE /connectors/<name>/offsets.");
            }
            if (copiedFrom != null && plan.oid() != 0 && copiedFrom != plan.oid()) {
                throw new ConnectException("Table " + plan.id() + " is now another relation (OID " + plan.oid()
                        + ") than the one this connector copied (OID " + copiedFrom + "): it was swapped for another "
                        + "(RENAME) or dropped and made again while no task read its changes. The topic holds the "
                        + "old relation's rows, and none of the new one's from before. " + RelationOid.REMEDY
                        .replace("<table>", plan.id().toString()));
            }
        }
    }

    /**
     * The walsender decodes each change with the publication as it was when the change was
     * written, and says nothing when a table is no longer in it: its changes just stop, while
     * the other tables' flow. A publication altered by hand (a table dropped from it, an
     * operation, a row filter) is therefore looked for with every sample, and fails the task,
     * naming it: changes written since then are not in the slot's stream and need a snapshot.
     */
    private void failIfPublicationChanged() throws SQLException {
        List<String> problems = server.publicationProblems(captured);
        if (!problems.isEmpty()) {
            throw new ConnectException("Publication '" + config.publicationName() + "' no longer carries every "
                    + "change of the captured tables (altered by hand while slot '" + config.slotName()
                    + "' streamed it): " + String.join("; ", problems) + ". The slot does not hold the changes "
                    + "written since then: restore the publication (publication.autocreate=filtered does it at the "
                    + "next start), then snapshot again (stop the connector, delete its offsets with DELETE "
                    + "/connectors/<name>/offsets, drop slot '" + config.slotName() + "', start it).");
        }
    }

    /** Kafka Connect acknowledged a record (metadata null: filtered or failed, which counts as done). */
    public void commitRecord(SourceRecord record) {
        if (record.sourcePartition() != null && record.sourcePartition().containsKey(WalOffset.SLOT)) {
            reader.acknowledged(record);
        }
    }

    /** How long the task may sleep before there may be work, at most {@code cap}. */
    public Duration idleTime(Duration cap) {
        if (snapshot != null) {
            return snapshot.idleTime(cap);
        }
        if (noTables) {
            return cap;
        }
        if (chunks != null && !chunks.finished() && !chunks.waiting() && stream != null) {
            // The next chunk is taken at the next poll (or after a short wait, when one was given up).
            return Duration.ofMillis(1).compareTo(cap) < 0 ? Duration.ofMillis(1) : cap;
        }
        if (stream == null) {
            long nanos = Math.max(1_000_000L, notBeforeNanos - System.nanoTime());
            return nanos >= cap.toNanos() ? cap : Duration.ofNanos(nanos);
        }
        return STREAM_IDLE.compareTo(cap) < 0 ? STREAM_IDLE : cap;
    }

    public WalStats stats() {
        return stats;
    }

    @Override
    public void close() {
        if (snapshot != null) {
            snapshot.close();
        }
        if (chunks != null) {
            chunks.close();
        }
        if (stream != null) {
            stream.close();
            stream = null;
        }
    }
}
