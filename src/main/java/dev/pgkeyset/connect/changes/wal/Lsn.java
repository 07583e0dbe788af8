package dev.pgkeyset.connect.changes.wal;

/**
 * WAL positions as the connector holds them: an unsigned 64-bit {@code long}, 0 meaning none, and
 * PostgreSQL's text form {@code X/Y} (two hexadecimal halves) for offsets, headers and logs.
 */
public final class Lsn {

    private Lsn() {
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /**
     * {@code 16/B374D848} → its position; null or empty → 0. Exactly two halves of 1 to 8
     * hexadecimal digits (either case), nothing else: no sign, no blanks.
     *
     * <p>Parsed by hand: every WAL record's acknowledgement reads its offset's LSN back (on the
     * producer's I/O thread, which sends all of the task's records), and the regular expression
     * plus {@code Long.parseLong} of two substrings this replaced were a quarter of that thread's
     * samples in a profile of a WAL drain.
     */
    public static long parse(String text) {
        if (text == null || text.isEmpty()) {
            return 0;
        }
        int slash = text.indexOf('/');
        int length = text.length();
        if (slash <= 0 || slash == length - 1 || slash > 8 || length - slash - 1 > 8) {
            throw notAPosition(text);
        }
        long high = hex(text, 0, slash);
        long low = hex(text, slash + 1, length);
        if (high < 0 || low < 0) {
            throw notAPosition(text);
        }
        return (high << 32) | low;
    }

    /** The value of the hexadecimal digits in {@code [from, to)}, or -1 when one is not a digit. */
    private static long hex(String text, int from, int to) {
        long value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            int digit = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : -1;
            if (digit < 0) {
                return -1;
            }
            value = (value << 4) | digit;
        }
        return value;
    }

    private static IllegalArgumentException notAPosition(String text) {
        return new IllegalArgumentException("'" + text + "' is not a WAL position (X/Y, two hexadecimal numbers)");
    }

    /**
     * The text form PostgreSQL prints ({@code pg_lsn} output): upper-case hexadecimal, no padding.
     * Written by hand: pgjdbc's {@code LogSequenceNumber.asString} goes through
     * {@code String.format}, which cost a sixth of the task thread's time in a WAL drain.
     */
    public static String format(long lsn) {
        char[] text = new char[17];
        int at = appendHex(text, 0, (int) (lsn >>> 32));
        text[at++] = '/';
        at = appendHex(text, at, (int) lsn);
        return new String(text, 0, at);
    }

    private static int appendHex(char[] text, int at, int value) {
        int digits = Math.max(1, (Integer.SIZE - Integer.numberOfLeadingZeros(value) + 3) / 4);
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
            text[at++] = HEX[(value >>> shift) & 0xF];
        }
        return at;
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
