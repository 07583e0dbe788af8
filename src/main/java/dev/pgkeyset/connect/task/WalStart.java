package dev.pgkeyset.connect.task;

import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.storage.OffsetStorageReader;

import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.WalOffset;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * What a capture.mode=wal task finds when it starts, before it streams: its committed offsets (the
 * slot's, checked against the server's WAL position, and the tables'), whether the server can
 * carry snapshot watermarks, and the tables in the order they were assigned.
 */
final class WalStart {

    private WalStart() {
    }

    static boolean streamsWatermarks(WalServer server, String slot) {
        try {
            return server.streamsWatermarks();
        } catch (SQLException e) {
            throw new ConnectException("Could not read the server version for slot '" + slot + "': "
                    + SqlErrors.describe(e), e);
        }
    }

    /** The plans in the order the tables were assigned (largest first). */
    static List<TablePlan> inSliceOrder(List<TableSlice> slices, Map<TableId, TablePlan> plans) {
        Map<TableId, TablePlan> left = new LinkedHashMap<>(plans);
        List<TablePlan> ordered = new java.util.ArrayList<>();
        for (TableSlice slice : slices) {
            TablePlan plan = left.remove(slice.table());
            if (plan != null) {
                ordered.add(plan);
            }
        }
        ordered.addAll(left.values());
        return ordered;
    }

    /** The captured tables with a committed offset: their snapshot began on the slot that exists now. */
    static Set<TableId> tablesWithOffsets(Map<Map<String, Object>, Map<String, Object>> committed,
                                                  Map<TableId, TablePlan> plans) {
        Set<TableId> found = new TreeSet<>();
        // A worker's reader maps a partition without an offset to null rather than leaving it out.
        for (TablePlan plan : plans.values()) {
            if (committed != null && committed.get(plan.partition()) != null) {
                found.add(plan.id());
            }
        }
        return found;
    }

    /**
     * A committed offset past the server's current WAL position cannot have come from this server
     * (an offset altered over REST with a typo, or the offsets of another server): followed, it
     * would pass over every change until the WAL reaches it, and confirm them to the slot.
     */
    static void failIfAheadOfTheServer(WalServer server, String slot, WalOffset committed) {
        if (committed == null) {
            return;
        }
        long[] positions;
        try {
            positions = server.positions();
        } catch (SQLException e) {
            throw new ConnectException("Could not read the WAL position of the server for slot '" + slot + "': "
                    + SqlErrors.describe(e), e);
        }
        if (positions != null && Long.compareUnsigned(committed.commitLsn(), positions[0]) > 0) {
            throw new ConnectException("The committed offset of slot '" + slot + "' (commit_lsn "
                    + WalOffset.formatLsn(committed.commitLsn()) + ") is ahead of the server's current WAL position "
                    + WalOffset.formatLsn(positions[0]) + ": it was not written by this server's stream, and following "
                    + "it would pass over every change until then. Correct it with PATCH /connectors/<name>/offsets "
                    + "(GET shows it), or delete the connector's offsets and snapshot again.");
        }
    }

    static WalOffset committedOffset(OffsetStorageReader offsets, String slot) {
        Map<String, Object> partition = WalOffset.partition(slot);
        Map<String, Object> offset = offsets.offset(partition);
        if (offset == null) {
            return null;
        }
        try {
            return WalOffset.fromMap(offset);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("The committed offset of slot '" + slot + "' is malformed (" + e.getMessage()
                    + "): " + offset + ". Correct or delete it with PATCH/DELETE /connectors/<name>/offsets.");
        }
    }
}
