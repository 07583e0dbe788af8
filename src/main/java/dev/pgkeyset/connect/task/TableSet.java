package dev.pgkeyset.connect.task;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.CaptureMode;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.tables.CapturedTable;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.record.RecordBatch;

/**
 * A task's tables, read one after another in the order assigned; one batch may span the end of
 * one table and the start of the next. Each resumes from its committed offset.
 */
public final class TableSet implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TableSet.class);

    private final List<TableReader> readers;
    private final int batchMaxRows;
    private final long batchMaxBytes;
    /** What the task does once every table is snapshotted, for the log line saying so. */
    private final String afterSnapshots;
    private boolean idleLogged;

    private TableSet(List<TableReader> readers, int batchMaxRows, long batchMaxBytes, String afterSnapshots) {
        this.readers = readers;
        this.afterSnapshots = afterSnapshots;
        this.batchMaxRows = batchMaxRows;
        this.batchMaxBytes = batchMaxBytes;
    }

    /**
     * @param slices the whole tables and key ranges assigned, in order; those whose table is not
     *               in {@code tables} (dropped since) are left out
     */
    public static TableSet open(List<TableSlice> slices, List<TableInfo> tables, PgKeysetConfig config,
                                ConnectionFactory connections, OffsetStorageReader offsets, PluginMetrics metrics) {
        Map<TableId, TableInfo> byId = new HashMap<>();
        tables.forEach(t -> byId.put(t.id(), t));
        List<TablePlan> plans = new ArrayList<>(slices.size());
        for (TableSlice slice : slices) {
            TableInfo info = byId.get(slice.table());
            if (info == null) {
                continue;
            }
            CapturedTable.Resolution resolution = CapturedTable.resolve(info, config);
            if (!resolution.ok()) {
                throw new ConnectException(resolution.problem());
            }
            plans.add(new TablePlan(resolution.table(), config, slice));
        }
        Map<Map<String, Object>, Map<String, Object>> committed =
                plans.isEmpty() ? Map.of() : offsets.offsets(plans.stream().map(TablePlan::partition).toList());
        List<TableReader> readers = new ArrayList<>(plans.size());
        for (TablePlan plan : plans) {
            Map<Map<String, Object>, Map<String, Object>> known = committed == null ? new HashMap<>() : committed;
            readers.add(new TableReader(plan, connections, ReaderSettings.of(config), committedOffset(plan, known),
                    known.get(plan.partition()), metrics));
        }
        return new TableSet(readers, config.batchMaxRows(), config.batchMaxBytes(), afterSnapshots(config));
    }

    /** The readers finish only when they do not follow changes: snapshot.mode=initial_only, or capture.mode=wal. */
    static String afterSnapshots(PgKeysetConfig config) {
        if (config.captureMode() != CaptureMode.WAL) {
            return "idle (snapshot.mode=initial_only)";
        }
        if (config.snapshotMode() == SnapshotMode.INITIAL_ONLY) {
            return "idle (snapshot.mode=initial_only: capture.mode=wal then uses no slot and streams nothing)";
        }
        return "streaming changes from slot '" + config.slotName() + "' next (capture.mode=wal)";
    }

    private static KeysetOffset committedOffset(TablePlan plan, Map<Map<String, Object>, Map<String, Object>> committed) {
        Map<String, Object> offset = committed.get(plan.partition());
        if (offset == null) {
            return null;
        }
        try {
            return OffsetCodec.fromMap(offset);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("The committed offset of table " + plan.id() + " is malformed (" + e.getMessage()
                    + "): " + offset + ". Correct or delete it with PATCH/DELETE /connectors/<name>/offsets.");
        }
    }

    /**
     * The next batch, or null when no table has anything to read now. Tables are visited in order,
     * so a snapshot runs to its end before the next table's begins, while tables already following
     * changes are queried whenever their poll interval is up.
     */
    public List<SourceRecord> poll() {
        RecordBatch batch = new RecordBatch(batchMaxRows, batchMaxBytes);
        for (TableReader reader : readers) {
            reader.readInto(batch);
            if (batch.full()) {
                break;
            }
        }
        if (batch.isEmpty()) {
            if (!idleLogged && readers.stream().allMatch(TableReader::finished)) {
                idleLogged = true;
                log.info("All {} table(s) of this task are snapshotted; {}", readers.size(), afterSnapshots);
            }
            return null;
        }
        return batch.records();
    }

    /** True once every table's snapshot is done (or there is no table): nothing more will be read. */
    public boolean finished() {
        return readers.stream().allMatch(TableReader::finished);
    }

    /** How long the task may sleep before some table has work, at most {@code cap}. */
    public Duration idleTime(Duration cap) {
        long now = System.nanoTime();
        long nanos = readers.stream().mapToLong(r -> r.nanosUntilWork(now)).min().orElse(Long.MAX_VALUE);
        return nanos >= cap.toNanos() ? cap : Duration.ofNanos(nanos);
    }

    @Override
    public void close() {
        readers.forEach(TableReader::close);
    }
}
