package dev.pgkeyset.connect.snapshot;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.query.ChangePhase;
import dev.pgkeyset.connect.config.SnapshotMode;
import dev.pgkeyset.connect.config.TableSlice;
import dev.pgkeyset.connect.offset.KeysetOffset;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.task.TableStats;

/**
 * The keyset snapshot of one table reader: where a reader begins (copy, resume, or skip the copy),
 * what its next snapshot cursor reads, what each copied row's offset says, and its progress. The
 * cursors themselves (opening, fetching, reopening, retrying) are the reader's
 * ({@code task/TableReader}).
 *
 * <p>The snapshot reads the table (or the reader's key range) in key order, after the key of the
 * last row read. Before its first row is read it takes the horizon where the change phase will
 * start ({@code changes_from}, see {@link ChangePhase}) and every snapshot offset carries it. The
 * reader reads one row ahead, so it knows which row is the last: that row's offset says
 * {@code snapshot_complete}, and a restarted task does not copy a finished table again.
 */
public final class SnapshotPhase {

    private static final Logger log = LoggerFactory.getLogger(SnapshotPhase.class);

    /**
     * Where a reader begins.
     *
     * @param phase    {@code SNAPSHOT}: copy, after {@code position} if set; {@code INCREMENTAL}: follow
     *                 changes, after {@code position} if set; {@code SNAPSHOT_COMPLETE}: the copy is
     *                 done, so follow changes if they are followed, else stay idle
     * @param position the position to read after, in the phase's columns; null for the phase's start
     * @param resumed  whether the reader takes up its committed offset (and says so)
     */
    public record Start(Phase phase, Object[] position, boolean resumed) {
    }

    private final ChangePhase changes;
    private final SnapshotProgress progress;

    public SnapshotPhase(TableSlice slice, TableStats stats, ChangePhase changes) {
        this.changes = changes;
        this.progress = new SnapshotProgress(slice.toString(), stats, System.nanoTime());
    }

    /**
     * Where a reader begins, from snapshot.mode and the committed offset (null when there is
     * none); also sets where its change phase starts.
     */
    public static Start start(TablePlan plan, KeysetOffset offset, SnapshotMode mode, ChangePhase changes) {
        if (offset == null) {
            return startFresh(plan, mode, changes);
        }
        if (!ownSplit(plan, offset)) {
            return startOver(plan, offset, mode, changes);
        }
        if (offset.phase() == Phase.INCREMENTAL && !changes.followed()) {
            // Switched to snapshot.mode=initial_only after its changes were followed: the copy is
            // done and nothing more is read, so the change position's columns do not matter.
            log.info("Table {}: snapshot done and changes no longer followed (snapshot.mode=initial_only); idle",
                    plan.slice());
            return new Start(Phase.SNAPSHOT_COMPLETE, null, false);
        }
        List<String> expected = offset.phase() == Phase.INCREMENTAL ? plan.changeColumnNames() : plan.keyColumnNames();
        if (!offset.keyColumns().equals(expected)) {
            throw new ConnectException("The committed offset of table " + plan.id() + " is a position over "
                    + offset.keyColumns() + ", but the table is now read by " + expected + ". Restore the previous "
                    + "key.columns / incremental.columns, or delete the connector's offsets for this table "
                    + "(PATCH/DELETE /connectors/<name>/offsets) to read it again from the start.");
        }
        changes.startFrom(offset.changesFrom());
        return switch (offset.phase()) {
            case SNAPSHOT, INCREMENTAL -> new Start(offset.phase(), offset.key().toArray(), true);
            case SNAPSHOT_COMPLETE -> new Start(Phase.SNAPSHOT_COMPLETE, null, true);
        };
    }

    private static Start startFresh(TablePlan plan, SnapshotMode mode, ChangePhase changes) {
        if (mode == SnapshotMode.NEVER) {
            changes.startWithoutSnapshot(plan.slice().split() != null);
            return new Start(Phase.INCREMENTAL, null, false);
        }
        if (changes.followed()) {
            changes.startAtFirstCursor();
        }
        return new Start(Phase.SNAPSHOT, null, false);
    }

    /**
     * True unless this reader reads a key range and the offset is of another split. Range i of
     * one split and range i of another hold different keys but share a source partition, so an
     * offset of another split says nothing about this range: say the old split cut at 100,000
     * and its two ranges stopped at 60,000 and 120,000, while the new split cuts at 75,000 and
     * 150,000; its range 1 (75,000..150,000) resuming after old range 1's 120,000 would skip
     * 75,000..100,000, which old range 0 never reached (and a {@code snapshot_complete} of old
     * range 0 would end new range 0 at once). That happens when a split is decided again before
     * the old split's offsets were committed (see RememberedSplits).
     */
    private static boolean ownSplit(TablePlan plan, KeysetOffset offset) {
        if (plan.slice().split() == null) {
            return true;
        }
        return offset.split() != null && offset.split().json().equals(plan.slice().split().json());
    }

    /**
     * An offset of another split: this range is read as if nothing of it had been delivered.
     * Adopting the offset's position instead is not safe (it is a position in other keys), and
     * the other split's offsets for this range's keys are spread over other partitions, possibly
     * not even committed yet. With a snapshot, the range is copied again from its own lower
     * bound, with the change phase starting at a horizon taken now; duplicates, no loss. Without
     * one (snapshot.mode=never), changes are followed from the smallest tracking value whatever
     * incremental.start says: "now" would skip the changes of these keys the other split's
     * readers had not delivered yet.
     */
    private static Start startOver(TablePlan plan, KeysetOffset offset, SnapshotMode mode, ChangePhase changes) {
        log.warn("Table {}: its committed offset is of another split of the table ({} ranges, this reader's has "
                + "{}); this range is read again from its start", plan.slice(),
                offset.split() == null ? "none" : offset.split().ranges(), plan.slice().split().ranges());
        if (mode == SnapshotMode.NEVER) {
            changes.startFrom(null);
            return new Start(Phase.INCREMENTAL, null, false);
        }
        return startFresh(plan, mode, changes);
    }

    /**
     * The query of the next snapshot cursor, after {@code position} (null: from the start); null
     * when it must wait for the change phase's start (no safe horizon yet: open transactions).
     */
    public KeysetQuery nextQuery(Connection connection, TablePlan plan, Object[] position) throws SQLException {
        // Taken before the snapshot's first row is read: the change phase starts here.
        if (!changes.takeStartIfPending(connection)) {
            return null;
        }
        if (position == null) {
            NullKeyCheck.snapshot(connection, plan);
        }
        return plan.snapshotQuery(position == null ? List.of() : Arrays.asList(position));
    }

    /** The snapshot's cursor is at its end: look for NULL keys before the last row says {@code snapshot_complete}. */
    public void reachedEnd(Connection connection, TablePlan plan) throws SQLException {
        NullKeyCheck.snapshot(connection, plan);
    }

    /**
     * A copied row's record: {@code snapshot}, or {@code snapshot_complete} for the table's (or
     * range's) last row, carrying where the change phase starts.
     */
    public SourceRecord record(TablePlan rowPlan, Object[] row, Object[] position, boolean last) {
        return rowPlan.toRecord(row, position, last ? Phase.SNAPSHOT_COMPLETE : Phase.SNAPSHOT, changes.from());
    }

    /** Called after each batch of copied rows: logs the progress now and then. */
    public void batchRead(long nowNanos) {
        progress.maybeLog(nowNanos);
    }

    /** The last row was read. */
    public void completed() {
        progress.completed();
    }
}
