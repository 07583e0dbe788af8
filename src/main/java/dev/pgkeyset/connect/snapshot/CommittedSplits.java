package dev.pgkeyset.connect.snapshot;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.offset.OffsetCodec;
import dev.pgkeyset.connect.offset.TablePartition;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * The connector's answer to "how is this table cut?": from the committed offsets (every offset of
 * a key range carries its table's split), else from a split this worker sampled whose offsets are
 * not committed yet ({@link RememberedSplits}), else a fresh sample from the database.
 *
 * <p>Whatever it answers, no row is lost: a range reader resumes only from an offset of its own
 * split and reads its range again otherwise (SnapshotPhase). The choice only decides how much is
 * read twice, so it prefers the split most committed range offsets carry.
 */
public final class CommittedSplits implements TaskAssignment.Splits {

    private static final Logger log = LoggerFactory.getLogger(CommittedSplits.class);

    private final PgKeysetConfig config;
    /** Null where the framework offers none (a test harness): every table then counts as fresh. */
    private final OffsetStorageReader offsets;
    private final int connectTimeoutSeconds;
    private final RememberedSplits remembered;

    public CommittedSplits(PgKeysetConfig config, OffsetStorageReader offsets, int connectTimeoutSeconds,
                           RememberedSplits remembered) {
        this.config = config;
        this.offsets = offsets;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.remembered = remembered;
    }

    /**
     * Committed offsets come first, whatever snapshot.mode says now: a split table switched to
     * snapshot.mode=never keeps its ranges, and each range continues its own change phase from its
     * own offset (answering "whole" would drop those offsets).
     */
    @Override
    public TaskAssignment.Progress progress(CapturedTable table) {
        TableId id = table.info().id();
        Map<Map<String, Object>, Map<String, Object>> committed = committedOffsets(id);
        Optional<KeySplit> committedSplit = committedSplit(id, committed);
        if (committedSplit.isPresent()) {
            remembered.forget(id); // the offsets answer from now on; a later offset reset samples anew
            return new TaskAssignment.Progress.Split(committedSplit.get());
        }
        Optional<KeySplit> recalled = remembered.recall(id, keyColumns(table));
        if (recalled.isPresent()) {
            return new TaskAssignment.Progress.Split(recalled.get());
        }
        if (committed.get(TablePartition.of(id)) != null || config.snapshotMode() == SnapshotMode.NEVER
                || remembered.recallWhole(id)) {
            // Started whole; or nothing to copy, where ranges would only multiply the change queries.
            return new TaskAssignment.Progress.StartedWhole();
        }
        return new TaskAssignment.Progress.Fresh();
    }

    private static List<String> keyColumns(CapturedTable table) {
        return table.key().stream().map(ColumnInfo::name).toList();
    }

    private Map<Map<String, Object>, Map<String, Object>> committedOffsets(TableId id) {
        if (offsets == null) {
            return Map.of();
        }
        List<Map<String, Object>> partitions = new ArrayList<>(TaskAssignment.MAX_RANGES + 1);
        partitions.add(TablePartition.of(id));
        for (int i = 0; i < TaskAssignment.MAX_RANGES; i++) {
            partitions.add(TablePartition.ofRange(id, i));
        }
        Map<Map<String, Object>, Map<String, Object>> committed = offsets.offsets(partitions);
        return committed == null ? Map.of() : committed;
    }

    /**
     * The split the committed range offsets carry. Offsets may disagree (a split decided again
     * before the first flush, and the old ranges' offsets committed afterwards): then the split
     * carried by most offsets wins, since that many ranges resume instead of starting over; a tie
     * goes to the split of the lowest range index. Looked at in range order, never in the map's
     * order, so every connector instance answers the same.
     */
    static Optional<KeySplit> committedSplit(TableId id, Map<Map<String, Object>, Map<String, Object>> committed) {
        Map<String, KeySplit> byJson = new LinkedHashMap<>();
        Map<String, Integer> votes = new LinkedHashMap<>();
        for (int i = 0; i < TaskAssignment.MAX_RANGES; i++) {
            Map<String, Object> value = committed.get(TablePartition.ofRange(id, i));
            if (value == null) {
                continue;
            }
            try {
                KeySplit split = OffsetCodec.fromMap(value).split();
                if (split != null && i < split.ranges()) {
                    byJson.putIfAbsent(split.json(), split);
                    votes.merge(split.json(), 1, Integer::sum);
                }
            } catch (IllegalArgumentException e) {
                // The task reading this range reports it; here it just says nothing about the split.
                log.warn("Table {}: the offset of range {} is malformed ({}); ignored when assigning ranges", id, i,
                        e.getMessage());
            }
        }
        String best = null;
        for (Map.Entry<String, Integer> vote : votes.entrySet()) {
            if (best == null || vote.getValue() > votes.get(best)) {
                best = vote.getKey();
            }
        }
        if (votes.size() > 1) {
            log.warn("Table {}: its committed range offsets carry {} different splits ({} offsets each); keeping "
                    + "the one with {} ranges carried by {}; the ranges whose offset is of another split are read "
                    + "again", id, votes.size(), votes.values(), byJson.get(best).ranges(), votes.get(best));
        }
        return Optional.ofNullable(best == null ? null : byJson.get(best));
    }

    /**
     * Remembered like a split: a table handed to one task whole may finish its snapshot before the
     * first offset flush, and a reconfiguration in that window (tasks.max raised) must not cut it
     * into ranges whose readers, knowing nothing of the whole table's offset, copy it again.
     */
    @Override
    public void assignedWhole(CapturedTable table) {
        remembered.rememberWhole(table.info().id());
    }

    @Override
    public Optional<KeySplit> sample(CapturedTable table, int ranges) {
        long start = System.nanoTime();
        try (Connection connection = ConnectionFactory.openOnce(config, connectTimeoutSeconds)) {
            KeySplit split = KeySplitter.split(connection, table, config, ranges);
            connection.commit();
            remembered.remember(table.info().id(), keyColumns(table), split);
            // Boundaries are key values, i.e. row contents: only their number at INFO.
            log.info("Table {} (~{} rows) split into {} key ranges over {} from a sample, in {} ms",
                    table.info().id(), table.info().estimatedRows(), split.ranges(), keyColumns(table),
                    (System.nanoTime() - start) / 1_000_000);
            log.debug("Table {}: split boundaries {}", table.info().id(), split.json());
            return Optional.of(split);
        } catch (SQLException e) {
            log.warn("Table {}: sampling its keys failed, so it is read whole: {}", table.info().id(),
                    SqlErrors.describe(e));
            return Optional.empty();
        }
    }
}
