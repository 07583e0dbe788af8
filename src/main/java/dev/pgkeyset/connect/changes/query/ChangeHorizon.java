package dev.pgkeyset.connect.changes.query;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.ZoneId;
import java.time.ZoneOffset;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * The bound of a change query: tracking values below it (or up to it) can no longer be committed
 * by anyone, so reading up to it never leaves a row behind the position. Which transactions can
 * still commit, and what is done when some cannot be seen: {@link OpenTransactions}.
 */
public interface ChangeHorizon {

    /**
     * @param value     the bound, as text that casts to the tracking column's type; null when the
     *                  table had no tracking value at all at a safe moment (nothing to read yet)
     * @param inclusive true for {@code t <= value}, false for {@code t < value}
     */
    record Bound(String value, boolean inclusive) {
    }

    /**
     * The current bound, or null when no position may advance now (e.g. transactions whose rows
     * could land anywhere are still open). Runs first in a fresh transaction of {@code connection}:
     * PostgreSQL freezes what {@code pg_stat_activity} shows for the rest of a transaction.
     *
     * @throws org.apache.kafka.connect.errors.ConnectException when the horizon cannot be known
     *         (other sessions hidden from the role, a standby, a wall-clock zone that is unknown)
     */
    Bound current(Connection connection) throws SQLException;

    /** The zone wall-clock tracking values ({@code timestamp}, {@code date}) are written in, for the lag metric. */
    default ZoneId wallClockZone() {
        return ZoneOffset.UTC;
    }

    static ChangeHorizon forColumn(TableId table, boolean only, ColumnInfo tracking) {
        return switch (TrackingType.of(tracking)) {
            case CLOCK -> new ClockHorizon(tracking);
            case SEQUENCE -> new SequenceHorizon(table, only, tracking);
        };
    }
}
