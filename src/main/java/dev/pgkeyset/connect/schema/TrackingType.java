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

    /** The instant as SQL in a clock column's type: {@code timestamp} and {@code date} use the database's default zone. */
    public static String inColumnType(ColumnInfo column, String instantSql) {
        String zone = "(SELECT reset_val FROM pg_settings WHERE name = 'TimeZone')";
        return switch (column.typeOid()) {
            case PgTypes.TIMESTAMPTZ -> instantSql;
            case PgTypes.TIMESTAMP -> "(" + instantSql + " AT TIME ZONE " + zone + ")";
            case PgTypes.DATE -> "(" + instantSql + " AT TIME ZONE " + zone + ")::date";
            default -> throw new IllegalArgumentException("not a clock type: " + column.typeName());
        };
    }
}
