package dev.pgkeyset.connect.chaos;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One chaos run: capture mode, exactly-once or not, the seed (faults and workload), how long
 * faults are injected, the tables and their initial rows, the write rate, and the gap between
 * faults.
 */
record ChaosSettings(boolean wal, boolean exactlyOnce, long seed, Duration chaos, Map<String, Integer> tables,
                     double changesPerSecond, Duration minGap, Duration maxGap) {

    /**
     * Query mode: a table of 110,000 rows (over twice the 50,000 rows a key range needs, so with
     * tasks.max=3 and two tables the spare task splits it into two ranges) and a small one.
     * Wal mode: one task takes every table whole, so the tables stay small.
     */
    static ChaosSettings of(boolean wal, boolean exactlyOnce, long seed, Duration chaos) {
        Map<String, Integer> tables = new LinkedHashMap<>();
        if (wal) {
            tables.put("orders", 5_000);
            tables.put("accounts", 2_000);
            tables.put("items", 1_000);
        } else {
            tables.put("big", 110_000);
            tables.put("small", 2_000);
        }
        return new ChaosSettings(wal, exactlyOnce, seed, chaos, tables, 100, Duration.ofSeconds(4),
                Duration.ofSeconds(12));
    }

    String variant() {
        return (wal ? "wal" : "query") + (exactlyOnce ? ", exactly-once" : ", at-least-once");
    }

    int tasks() {
        return wal ? 1 : 3;
    }
}
