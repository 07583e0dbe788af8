package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;

/**
 * The connector's answer to "how is this table cut?": from the committed offsets (every offset of
 * a key range carries its table's split), else a fresh sample from the database.
 */
public final class CommittedSplits implements TaskAssignment.Splits {

    private static final Logger log = LoggerFactory.getLogger(CommittedSplits.class);

    private final PgKeysetConfig config;
    /** Null where the framework offers none (a test harness): every table then counts as fresh. */
    private final OffsetStorageReader offsets;
    private final int connectTimeoutSeconds;
    /**
     * Splits this connector instance decided, kept across its reconfigurations: until the first
     * range offset is committed (offset.flush.interval.ms) the offsets cannot tell, and cutting the
     * table anew would restart ranges already under way.
     */
    private final Map<TableId, KeySplit> decided;

    public CommittedSplits(PgKeysetConfig config, OffsetStorageReader offsets, int connectTimeoutSeconds,
                           Map<TableId, KeySplit> decided) {
        this.config = config;
        this.offsets = offsets;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.decided = decided;
    }

    @Override
    public TaskAssignment.Progress progress(CapturedTable table) {
        if (config.snapshotMode() == SnapshotMode.NEVER) {
            // Nothing to copy: ranges would only multiply the change queries.
            return new TaskAssignment.Progress.StartedWhole();
        }
        TableId id = table.info().id();
        TaskAssignment.Progress committed = committedProgress(id);
        if (committed instanceof TaskAssignment.Progress.Fresh && decided.containsKey(id)) {
            return new TaskAssignment.Progress.Split(decided.get(id));
        }
        return committed;
    }

    private TaskAssignment.Progress committedProgress(TableId id) {
        if (offsets == null) {
            return new TaskAssignment.Progress.Fresh();
        }
        List<Map<String, Object>> partitions = new ArrayList<>(TaskAssignment.MAX_RANGES + 1);
        partitions.add(TablePartition.of(id));
        for (int i = 0; i < TaskAssignment.MAX_RANGES; i++) {
            partitions.add(TablePartition.ofRange(id, i));
        }
        Map<Map<String, Object>, Map<String, Object>> committed = offsets.offsets(partitions);
        if (committed == null || committed.isEmpty()) {
            return new TaskAssignment.Progress.Fresh();
        }
        for (Map.Entry<Map<String, Object>, Map<String, Object>> entry : committed.entrySet()) {
            if (entry.getKey().containsKey(TablePartition.RANGE) && entry.getValue() != null) {
                try {
                    KeysetOffset offset = OffsetCodec.fromMap(entry.getValue());
                    if (offset.split() != null) {
                        return new TaskAssignment.Progress.Split(offset.split());
                    }
                } catch (IllegalArgumentException e) {
                    // The task reading this range reports it; here it just says nothing about the split.
                    log.warn("Table {}: the offset of {} is malformed ({}); ignored when assigning ranges", id,
                            entry.getKey(), e.getMessage());
                }
            }
        }
        return committed.get(TablePartition.of(id)) != null ? new TaskAssignment.Progress.StartedWhole()
                : new TaskAssignment.Progress.Fresh();
    }

    @Override
    public Optional<KeySplit> sample(CapturedTable table, int ranges) {
        long start = System.nanoTime();
        try (Connection connection = ConnectionFactory.openOnce(config, connectTimeoutSeconds)) {
            KeySplit split = KeySplitter.split(connection, table, config, ranges);
            connection.commit();
            decided.put(table.info().id(), split);
            log.info("Table {} (~{} rows) split into {} key ranges from a sample, in {} ms: boundaries {}",
                    table.info().id(), table.info().estimatedRows(), split.ranges(),
                    (System.nanoTime() - start) / 1_000_000, split.json());
            return Optional.of(split);
        } catch (SQLException e) {
            log.warn("Table {}: sampling its keys failed, so it is read whole: {}", table.info().id(),
                    SqlErrors.describe(e));
            return Optional.empty();
        }
    }
}
