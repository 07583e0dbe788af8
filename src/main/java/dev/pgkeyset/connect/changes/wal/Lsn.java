package dev.pgkeyset.connect.changes.wal;

import org.postgresql.replication.LogSequenceNumber;

/**
 * WAL positions as the connector holds them: an unsigned 64-bit {@code long}, 0 meaning none, and
 * PostgreSQL's text form {@code X/Y} (two hexadecimal halves) for offsets, headers and logs.
 */
public final class Lsn {

    private Lsn() {
    }

    /** {@code 16/B374D848} → its position; null or empty → 0. */
    public static long parse(String text) {
        if (text == null || text.isEmpty()) {
            return 0;
        }
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || slash > 8 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("'" + text + "' is not a WAL position (X/Y, two hexadecimal numbers)");
        }
        try {
            long high = Long.parseLong(text.substring(0, slash), 16);
            long low = Long.parseLong(text.substring(slash + 1), 16);
            return (high << 32) | low;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a WAL position (X/Y, two hexadecimal numbers)", e);
        }
    }

    /** The text form PostgreSQL prints ({@code pg_lsn} output): upper-case hexadecimal, no padding. */
    public static String format(long lsn) {
        return LogSequenceNumber.valueOf(lsn).asString();
    }

    /** {@code a - b} in bytes (WAL positions are unsigned). */
    public static long minus(long a, long b) {
        return a - b;
    }

    /** Unsigned comparison, as positions compare. */
    public static int compare(long a, long b) {
        return Long.compareUnsigned(a, b);
    }

    public static long max(long a, long b) {
        return compare(a, b) >= 0 ? a : b;
    }
}
