package dev.pgkeyset.connect.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/**
 * A short chaos run of each capture mode in {@code mvn verify}: three workers, faults drawn from a
 * seed (printed; {@code -Dchaos.seed=N} replays the schedule) for {@code chaos.seconds} (default
 * 40) each, under a live workload; the report's checks must all hold. Query mode runs at least
 * once, wal mode exactly once; the soak ({@link ChaosSoak}) runs all four variants for minutes.
 */
class ChaosIT {

    private static long seed() {
        String given = System.getProperty("chaos.seed");
        return given == null || given.isBlank() ? System.nanoTime() : Long.parseLong(given);
    }

    private static Duration length() {
        return Duration.ofSeconds(Long.getLong("chaos.seconds", 40));
    }

    @Test
    void queryModeAtLeastOnceUnderFaultsLosesNothing() throws Exception {
        ChaosReport report = Chaos.run(ChaosSettings.of(false, false, seed(), length()));
        System.out.print(report.table());
        assertTrue(report.passed(), report.table());
    }

    @Test
    void walModeExactlyOnceUnderFaultsLosesNothing() throws Exception {
        ChaosReport report = Chaos.run(ChaosSettings.of(true, true, seed(), length()));
        System.out.print(report.table());
        assertTrue(report.passed(), report.table());
    }
}
