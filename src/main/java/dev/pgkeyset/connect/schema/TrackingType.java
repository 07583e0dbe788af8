package dev.pgkeyset.connect.schema;

import dev.pgkeyset.connect.pg.ColumnInfo;

/**
 * The kinds of column that can drive the change phase. The kind decides how the change phase
 * knows which tracking values can no longer be committed behind its position:
 * <ul>
 *   <li>{@link #CLOCK} ({@code timestamptz}, {@code timestamp}, {@code date}) filled by {@code now()},
 *   the transaction's start time: every value still to be committed is at or after the start of the
 *   oldest open transaction.</li>
 *   <li>{@link #SEQUENCE} (integers, {@code numeric}) filled from a sequence: a value taken before a
 *   moment by a transaction still open then may be committed later, so a maximum seen at one moment
 *   becomes safe once every transaction open at that moment has ended.</li>
 * </ul>
 */
public enum TrackingType {
    CLOCK,
    SEQUENCE;

    /** The kind of a column, or null when it cannot track changes. */
    public static TrackingType of(ColumnInfo column) {
        return switch (column.typeOid()) {
            case PgTypes.TIMESTAMPTZ, PgTypes.TIMESTAMP, PgTypes.DATE -> CLOCK;
            case PgTypes.INT2, PgTypes.INT4, PgTypes.INT8, PgTypes.NUMERIC -> SEQUENCE;
            default -> null;
        };
    }

    /** Null when the column can be a tracking column, else why not. */
    public static String problemWith(ColumnInfo column) {
        return of(column) != null ? null : "is of type " + column.typeName() + ", which cannot track changes; use "
                + "a timestamptz, timestamp or date column set by the database clock, or an integer column filled "
                + "from a sequence";
    }

    public static boolean isSoftDeleteMarker(ColumnInfo column) {
        return switch (column.typeOid()) {
            case PgTypes.BOOL, PgTypes.TIMESTAMPTZ, PgTypes.TIMESTAMP, PgTypes.DATE -> true;
            default -> false;
        };
    }

    /** Whether the column holds wall-clock values ({@code timestamp}, {@code date}), which need the writers' zone. */
    public static boolean isWallClock(ColumnInfo column) {
        return column.typeOid() == PgTypes.TIMESTAMP || column.typeOid() == PgTypes.DATE;
    }

    /** Why a wall-clock column cannot be followed when the writers' zone is unknown, with the remedy. */
    public static String unknownZoneProblem(ColumnInfo column, String why) {
        return "tracking column " + column.name() + " is of type " + column.typeName() + ": its values are wall-clock "
                + "times in the time zone of the sessions that write them, which the connector must compare in, and "
                + why + ". Run ALTER DATABASE <database> SET timezone = '<the zone writers use>' (SHOW TimeZone in a "
                + "writer's session), or track a timestamptz column";
    }

    /**
     * The instant as SQL in a clock column's type; {@code zoneLiteral} is the writers' zone, needed
     * by {@code timestamp} and {@code date} (see {@link #wallClockBound}).
     */
    public static String inColumnType(ColumnInfo column, String instantSql, String zoneLiteral) {
        return switch (column.typeOid()) {
            case PgTypes.TIMESTAMPTZ -> instantSql;
            case PgTypes.TIMESTAMP -> wallClockBound(instantSql, zoneLiteral);
            case PgTypes.DATE -> "(" + wallClockBound(instantSql, zoneLiteral) + ")::date";
            default -> throw new IllegalArgumentException("not a clock type: " + column.typeName());
        };
    }

    /**
     * The smallest wall-clock value (in {@code zone}) any instant from {@code i} on can write, as
     * SQL; a bound no row still to be written falls below.
     *
     * <p>Why not simply {@code i AT TIME ZONE zone}: at a daylight-saving fall-back the wall clock
     * goes back (New York, 2025-11-02: 01:59:59 EDT, then 01:00:00 EST), so rows written in the
     * hour's second pass carry values the first pass already went past; a position taken from the
     * plain wall clock at 01:40 EDT skipped every row of 01:00-01:40 EST (73 of 288 rows in a
     * simulated night). Holding the bound below the coming fall-back instead costs a delay, not a
     * row, and no duplicates: during the first pass the bound stays just under 01:00, and the rows
     * of both passes are read once the second pass has gone past them, in (value, key) order.
     *
     * <p>How, with PostgreSQL's own zone rules rather than a copy in Java: let
     * {@code g(j) = wall(j) - (j - i)}. Between transitions g is constant; a fall-back lowers it by
     * its size, a spring-forward raises it. For every later instant {@code j}, {@code wall(j) >= g(j)};
     * so, with one transition at most in the window looked at, the smallest wall value from i on is
     * at least {@code min(wall(i), min over s of wall(i + s) - step)}, sampled every
     * {@code step} = 1 minute over 3 hours (more than any daylight-saving shift, 2 hours at most
     * in the tz database). Away from a fall-back every sample gives {@code wall(i)} exactly, so the
     * bound is the plain wall clock; near one it is at most a minute below the true minimum.
     */
    public static String wallClockBound(String instantSql, String zoneLiteral) {
        return "least((" + instantSql + ") AT TIME ZONE " + zoneLiteral + ", (SELECT min(((" + instantSql
                + ") + s * interval '1 minute') AT TIME ZONE " + zoneLiteral + ") - interval '1 minute'"
                + " FROM generate_series(1, 180) s))";
    }
}
