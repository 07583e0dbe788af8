package dev.pgkeyset.connect.chaos;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What a chaos run found, and the table it prints. A run passes when nothing is lost (every
 * topic's final state equals its table; in wal mode also every committed change delivered), no
 * change record went back in a row's history, no task failed, and duplicates are none under
 * exactly-once, otherwise each one follows a fault; and no record was re-sent from before the
 * offset committed before it was produced ({@code resentBeforeCommitted}: the bound of
 * at-least-once re-delivery).
 */
record ChaosReport(ChaosSettings settings, long chaosMillis, Map<FaultKind, Integer> faults, long changesWritten,
                   long changesUncertain, long records, List<String> differences, List<String> missingChanges,
                   int duplicates, int duplicatesNotAfterAFault, List<String> regressions, long[] lagMillis,
                   int taskRestarts, List<String> taskFailures, List<String> resentBeforeCommitted) {

    /** A duplicate received during a fault or within this long after it ended counts as caused by it. */
    static final long FAULT_SHADOW_MILLIS = 60_000;

    static Map<FaultKind, Integer> countByKind(List<FaultSchedule.Fault> faults) {
        Map<FaultKind, Integer> counts = new EnumMap<>(FaultKind.class);
        for (FaultKind kind : FaultKind.values()) {
            counts.put(kind, 0);
        }
        faults.forEach(f -> counts.merge(f.kind(), 1, Integer::sum));
        return counts;
    }

    /** Duplicates received neither during a fault nor within {@link #FAULT_SHADOW_MILLIS} after one ended. */
    static int notAfterAFault(List<DeliveryObserver.Duplicate> duplicates, List<FaultSchedule.Fault> faults) {
        int count = 0;
        for (DeliveryObserver.Duplicate d : duplicates) {
            boolean shadowed = faults.stream().anyMatch(f -> f.startedAt() <= d.receivedAt()
                    && d.receivedAt() <= f.endedAt() + FAULT_SHADOW_MILLIS);
            if (!shadowed) {
                count++;
            }
        }
        return count;
    }

    long lost() {
        return differences.size() + missingChanges.size();
    }

    boolean passed() {
        boolean duplicatesOk = settings.exactlyOnce() ? duplicates == 0 : duplicatesNotAfterAFault == 0;
        return lost() == 0 && regressions.isEmpty() && taskFailures.isEmpty() && duplicatesOk
                && resentBeforeCommitted.isEmpty();
    }

    /** The reasons it failed, one a line; empty when it passed. */
    List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (!differences.isEmpty()) {
            problems.add(differences.size() + " keys whose final state differs from the table, e.g. "
                    + first(differences));
        }
        if (!missingChanges.isEmpty()) {
            problems.add(missingChanges.size() + " committed changes never delivered, e.g. " + first(missingChanges));
        }
        if (!regressions.isEmpty()) {
            problems.add(regressions.size() + " change records below a version delivered before, e.g. "
                    + first(regressions));
        }
        if (settings.exactlyOnce() && duplicates > 0) {
            problems.add(duplicates + " duplicates under exactly-once (read_committed)");
        }
        if (!settings.exactlyOnce() && duplicatesNotAfterAFault > 0) {
            problems.add(duplicatesNotAfterAFault + " duplicates more than " + FAULT_SHADOW_MILLIS / 1000
                    + " s after any fault");
        }
        if (!taskFailures.isEmpty()) {
            problems.add("a task failed: " + first(taskFailures));
        }
        if (!resentBeforeCommitted.isEmpty()) {
            problems.add(resentBeforeCommitted.size() + " change records re-sent from before the committed offset, "
                    + "e.g. " + first(resentBeforeCommitted));
        }
        return problems;
    }

    private static List<String> first(List<String> items) {
        return items.subList(0, Math.min(5, items.size()));
    }

    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    String table() {
        StringBuilder out = new StringBuilder();
        String line = "+--------------------------------------------------+------------------------+%n";
        out.append(String.format("chaos run: %s, seed %d (replay: -Dchaos.seed=%d), faults for %d s%n",
                settings.variant(), settings.seed(), settings.seed(), chaosMillis / 1000));
        out.append(String.format(line));
        faults.forEach((kind, n) -> row(out, "fault: " + kind.words(), Integer.toString(n)));
        row(out, "faults in all", Integer.toString(faults.values().stream().mapToInt(Integer::intValue).sum()));
        row(out, "changes written (committed)", Long.toString(changesWritten));
        row(out, "changes whose commit was uncertain", Long.toString(changesUncertain));
        row(out, "records delivered", Long.toString(records));
        row(out, "lost (must be 0)", Long.toString(lost()));
        row(out, "duplicates" + (settings.exactlyOnce() ? " (must be 0)" : ""), Integer.toString(duplicates));
        if (!settings.exactlyOnce()) {
            row(out, "  of them not after a fault (must be 0)", Integer.toString(duplicatesNotAfterAFault));
        }
        row(out, "counter went back (must be 0)", Integer.toString(regressions.size()));
        row(out, "re-sent before the committed offset (must be 0)",
                Integer.toString(resentBeforeCommitted.size()));
        long[] lag = lagMillis.clone();
        java.util.Arrays.sort(lag);
        row(out, "end-to-end lag p50 / p99 / max", percentile(lag, 50) + " / " + percentile(lag, 99) + " / "
                + (lag.length == 0 ? -1 : lag[lag.length - 1]) + " ms");
        row(out, "  over versions delivered", Integer.toString(lag.length));
        row(out, "task restarts (seen)", Integer.toString(taskRestarts));
        row(out, "task failures (must be 0)", Integer.toString(taskFailures.size()));
        row(out, "result", passed() ? "PASS" : "FAIL");
        out.append(String.format(line));
        problems().forEach(p -> out.append("  ").append(p).append(System.lineSeparator()));
        return out.toString();
    }

    private static void row(StringBuilder out, String name, String value) {
        out.append(String.format("| %-48s | %22s |%n", name, value));
    }

    static List<String> unmodifiable(List<String> items) {
        return Collections.unmodifiableList(new ArrayList<>(items));
    }
}
