package dev.pgkeyset.quickstart;

/**
 * The text of the quickstart's progress line, kept apart from Kafka so its widths and wording can
 * be tested: the snapshot (rows of the total counted at the start, rows/s, ETA) and the changes
 * followed after it (count, lag) are separate parts, so change records never count against the
 * table's rows.
 */
final class ProgressLine {

    /** Escape sequence: erase from the cursor to the end of the line (ECMA-48 EL, as every terminal knows it). */
    static final String CLEAR_TO_END = "\u001b[K";

    /** Width used when the terminal's is unknown: lines longer than it would wrap, and \r returns only to the last row. */
    static final int DEFAULT_WIDTH = 80;

    private ProgressLine() {
    }

    /**
     * @param snapshotRows  snapshot records delivered (pgkeyset.op=r)
     * @param snapshotTotal rows counted in the captured tables at the start
     * @param snapshotDone  every table's snapshot finished (then rate and ETA are left out)
     * @param rowsPerSecond recent snapshot rate
     * @param etaSeconds    time left, negative when unknown
     * @param changes       change records delivered (c, u, d, t)
     * @param lag           how far behind the changes are, with its label ("lag 0 B of WAL"), or null
     *                      where nothing measures it
     */
    static String format(long snapshotRows, long snapshotTotal, boolean snapshotDone, double rowsPerSecond,
                         double etaSeconds, long changes, String lag, int width) {
        StringBuilder line = new StringBuilder();
        if (snapshotDone) {
            line.append(String.format("snapshot done: %,d rows", snapshotRows));
        } else {
            long total = Math.max(snapshotTotal, snapshotRows);
            long percent = total == 0 ? 100 : Math.min(100, snapshotRows * 100 / total);
            line.append(String.format("snapshot %,d/%,d rows (%d%%), %,.0f rows/s, ETA %s", snapshotRows, total,
                    percent, rowsPerSecond, eta(etaSeconds)));
        }
        line.append(String.format(" | changes %,d", changes));
        if (lag != null) {
            line.append(", ").append(lag);
        }
        return fit(line.toString(), width);
    }

    /** Cut to one character less than the width, so the cursor never wraps to a second row. */
    static String fit(String text, int width) {
        int room = Math.max(10, width - 1);
        return text.length() <= room ? text : text.substring(0, room - 1) + "…";
    }

    /** "7 s", "2 min 05 s", "1 h 02 min"; "?" before a rate is known. */
    static String eta(double seconds) {
        if (seconds < 0 || Double.isNaN(seconds) || Double.isInfinite(seconds)) {
            return "?";
        }
        long s = Math.round(Math.ceil(seconds));
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return String.format("%d min %02d s", s / 60, s % 60);
        }
        return String.format("%d h %02d min", s / 3600, (s % 3600) / 60);
    }

    /** Bytes as a person reads them: "0 B", "812 B", "12.3 kB", "4.0 MB". */
    /** Milliseconds as seconds with one decimal ({@code 0.4 s}), whole seconds from a minute up. */
    static String seconds(long millis) {
        return millis < 60_000 ? String.format(java.util.Locale.ROOT, "%.1f s", millis / 1e3)
                : String.format(java.util.Locale.ROOT, "%,d s", millis / 1000);
    }

    static String bytes(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        if (bytes < 1_000_000) {
            return String.format("%.1f kB", bytes / 1e3);
        }
        if (bytes < 1_000_000_000) {
            return String.format("%.1f MB", bytes / 1e6);
        }
        return String.format("%.1f GB", bytes / 1e9);
    }

    /** What a terminal is sent to replace the line under the cursor with this one. */
    static String redraw(String text) {
        return "\r" + text + CLEAR_TO_END;
    }

    /** The terminal's width from COLUMNS when the shell exports it, else {@link #DEFAULT_WIDTH}. */
    static int terminalWidth(String columns) {
        try {
            int width = columns == null ? DEFAULT_WIDTH : Integer.parseInt(columns.strip());
            return width >= 20 ? width : DEFAULT_WIDTH;
        } catch (NumberFormatException e) {
            return DEFAULT_WIDTH;
        }
    }
}
