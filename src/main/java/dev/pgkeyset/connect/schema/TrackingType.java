package dev.pgkeyset.connect.schema;

import dev.pgkeyset.connect.pg.ColumnInfo;

/**
 * Which columns can drive the change phase, and how its in-flight horizon is expressed in the
 * column's type. Only clock-based types are accepted: for them the start time of the oldest
 * running transaction bounds every value still to be committed (values written by
 * {@code now()}, which is the transaction's start time). Sequence-filled integer columns give no
 * such bound and are refused until a guarantee for them exists.
 */
public final class TrackingType {

    private TrackingType() {
    }

    /** Null when the column can be a tracking column, else why not. */
    public static String problemWith(ColumnInfo column) {
        return switch (column.typeOid()) {
            case PgTypes.TIMESTAMPTZ, PgTypes.TIMESTAMP, PgTypes.DATE -> null;
            case PgTypes.INT2, PgTypes.INT4, PgTypes.INT8, PgTypes.NUMERIC ->
                    "is of type " + column.typeName() + "; integer tracking columns are not supported yet (a "
                            + "sequence value taken early and committed late cannot be bounded by time); use a "
                            + "timestamptz column set by the database";
            default -> "is of type " + column.typeName() + ", which cannot track changes; use a timestamptz, "
                    + "timestamp or date column";
        };
    }

    public static boolean isSoftDeleteMarker(ColumnInfo column) {
        return switch (column.typeOid()) {
            case PgTypes.BOOL, PgTypes.TIMESTAMPTZ, PgTypes.TIMESTAMP, PgTypes.DATE -> true;
            default -> false;
        };
    }

    /**
     * SQL giving, in the tracking column's type and as text that casts back exactly, the horizon:
     * the earliest of the current time (less a 100 ms guard, see below) and the start of every
     * transaction still open in this database, our own read-only sessions excepted. Any value the
     * database will still commit with {@code now()} is at or after it. The second column says
     * whether prepared (two-phase) transactions exist: their start time is not recorded anywhere,
     * so while one exists no position may advance.
     *
     * <p>The guard covers the instant between a backend taking its transaction timestamp and
     * publishing it in {@code pg_stat_activity}. {@code timestamp} and {@code date} columns are
     * filled in the writers' TimeZone; the database's default TimeZone stands in for it.
     */
    public static String horizonSql(ColumnInfo column, String ownApplicationNamePrefix) {
        String instant = "least(clock_timestamp() - interval '100 milliseconds',"
                + " (SELECT min(xact_start) FROM pg_stat_activity"
                + "   WHERE datname = current_database() AND pid <> pg_backend_pid()"
                + "     AND backend_type IN ('client backend', 'background worker', 'logical replication worker')"
                + "     AND coalesce(application_name, '') NOT LIKE '" + ownApplicationNamePrefix.replace("'", "''")
                + "%'))";
        String zone = "(SELECT reset_val FROM pg_settings WHERE name = 'TimeZone')";
        String typed = switch (column.typeOid()) {
            case PgTypes.TIMESTAMPTZ -> instant;
            case PgTypes.TIMESTAMP -> "(" + instant + " AT TIME ZONE " + zone + ")";
            case PgTypes.DATE -> "(" + instant + " AT TIME ZONE " + zone + ")::date";
            default -> throw new IllegalArgumentException("not a tracking type: " + column.typeName());
        };
        return "SELECT (" + typed + ")::text,"
                + " EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database())";
    }
}
