package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.SQLException;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.TrackingType;

/**
 * The bound of a change query: tracking values below it (or up to it) can no longer be committed
 * by anyone, so reading up to it never leaves a row behind the position.
 */
interface ChangeHorizon {

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
     */
    Bound current(Connection connection) throws SQLException;

    /** Sessions of this connector only read; they never hold a horizon back. */
    String OWN_SESSIONS = ConnectionFactory.APPLICATION_NAME;

    /** Open transactions that could still commit rows into our tables, as a SQL condition on pg_stat_activity. */
    String OPEN_WRITERS = "datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            + " AND backend_type IN ('client backend', 'background worker', 'logical replication worker')"
            + " AND coalesce(application_name, '') NOT LIKE '" + OWN_SESSIONS + "%'";

    String PREPARED_EXIST = "EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database())";

    static ChangeHorizon forColumn(TableId table, boolean only, ColumnInfo tracking) {
        return switch (TrackingType.of(tracking)) {
            case CLOCK -> new ClockHorizon(tracking);
            case SEQUENCE -> new SequenceHorizon(table, only, tracking);
        };
    }
}
