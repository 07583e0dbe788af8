package dev.pgkeyset.connect.changes.query;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.IncrementalStart;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.snapshot.NullKeyCheck;

/**
 * The query-based change phase of one table reader: where it starts, what its next cursor reads,
 * what its records say. The cursors themselves (opening, fetching, reopening, retrying) are the
 * reader's ({@code task/TableReader}).
 *
 * <p>Changes are read in (tracking column, key) order, after the position of the last row read.
 * Each change query reads only up to a fresh {@link ChangeHorizon}, beyond which a transaction
 * still open could commit a row, so a row committed late by a long transaction is never behind the
 * position.
 *
 * <p>The phase starts at {@code changes_from} (inclusive): the horizon taken just before the
 * snapshot began, which every snapshot offset carries, so rows written during the snapshot are
 * delivered again by the change phase rather than lost; without a snapshot, the smallest tracking
 * value or, with {@code incremental.start=now}, the horizon at the first change query. That start is
 * kept here even for a table whose changes are not followed (snapshot.mode=initial_only): its
 * snapshot offsets still carry the {@code changes_from} a resumed copy began with.
 */
public final class ChangePhase {

    private static final Logger log = LoggerFactory.getLogger(ChangePhase.class);

    private final IncrementalStart incrementalStart;
    /** Bounds the change queries; null for snapshot-only tables. Replaced with the tracking column. */
    private ChangeHorizon horizon;
    /** Where the change phase starts (inclusive) while no change row was read; null = the smallest value. */
    private String from;
    /** True while {@link #from} still has to be taken from the horizon, at the first cursor. */
    private boolean fromPending;

    /** @param followed false for a snapshot-only table (snapshot.mode=initial_only): no horizon then */
    public ChangePhase(TablePlan plan, boolean followed, IncrementalStart incrementalStart) {
        this.incrementalStart = incrementalStart;
        this.horizon = followed ? plan.newHorizon() : null;
    }

    /** Whether this table's changes are followed at all. */
    public boolean followed() {
        return horizon != null;
    }

    /** Starts at a known point: a committed {@code changes_from}, or null for the smallest tracking value. */
    public void startFrom(String changesFrom) {
        from = changesFrom;
        fromPending = false;
    }

    /** Starts at the horizon of the first cursor: a snapshot's, taken before its first row is read. */
    public void startAtFirstCursor() {
        fromPending = true;
    }

    /**
     * Starts without a snapshot (snapshot.mode=never), where {@code incremental.start} says. A key
     * range exists only for a table whose snapshot began under another mode (a table is never split
     * under snapshot.mode=never): a range with no offset yet was never copied, and "now" would skip
     * its rows for good. It follows its changes from the smallest tracking value instead, which
     * delivers every row of it.
     */
    public void startWithoutSnapshot(boolean keyRange) {
        fromPending = incrementalStart == IncrementalStart.NOW && !keyRange;
    }

    /**
     * Takes the start from the horizon if it is still to be taken (see {@link #startAtFirstCursor});
     * the snapshot calls this before its first row is read.
     *
     * @return false when no horizon is safe yet: the snapshot must wait
     */
    public boolean takeStartIfPending(Connection connection) throws SQLException {
        if (!fromPending) {
            return true;
        }
        ChangeHorizon.Bound bound = horizon.current(connection);
        if (bound == null) {
            return false;
        }
        from = bound.value();
        fromPending = false;
        return true;
    }

    /** Where the change phase starts, for the {@code changes_from} of snapshot offsets; null = the smallest value. */
    public String from() {
        return from;
    }

    /** The start as logged when the phase begins. */
    public String describeStart() {
        return from == null ? "the smallest tracking value" : "tracking value " + from;
    }

    /**
     * The query of the next change cursor, after {@code position} (null: none read yet, so from
     * {@link #from}), up to the current horizon; null when it must wait for a safe horizon (open
     * transactions), or for one that has a value at all (an empty table).
     */
    public KeysetQuery nextQuery(Connection connection, TablePlan plan, Object[] position) throws SQLException {
        ChangeHorizon.Bound bound = horizon.current(connection);
        if (bound != null && fromPending) {
            from = bound.value();
            fromPending = false;
            log.info("Table {}: following changes from tracking value {} (incremental.start=now)", plan.id(), from);
        }
        if (bound == null || bound.value() == null || fromPending) {
            return null;
        }
        NullKeyCheck.changes(connection, plan, position == null ? from : position[0], bound);
        return plan.changesQuery(position == null ? List.of() : Arrays.asList(position), from, bound);
    }

    /** A change row's record: its offset is its (tracking value, key) position, with no {@code changes_from}. */
    public SourceRecord record(TablePlan rowPlan, Object[] row, Object[] position) {
        return rowPlan.toRecord(row, position, Phase.INCREMENTAL, null);
    }

    /** A change row's tracking value as epoch milliseconds (clock columns only), for the lag metric. */
    public Optional<Long> trackingEpochMillis(TablePlan rowPlan, Object[] row) {
        return rowPlan.trackingEpochMillis(row, horizon.wallClockZone());
    }

    /**
     * The table's columns changed: a horizon keeps state about its tracking column (its zone, its
     * probes), so a tracking column retyped or replaced gets a new one.
     */
    public void columnsChanged(TablePlan before, TablePlan after) {
        if (horizon != null && !after.sameTracking(before)) {
            horizon = after.newHorizon();
        }
    }
}
