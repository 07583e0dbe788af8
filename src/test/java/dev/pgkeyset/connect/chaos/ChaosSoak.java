package dev.pgkeyset.connect.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The soak: {@code mvn -o -q -Pchaos test-compile exec:exec -Dchaos.minutes=30 [-Dchaos.seed=N]
 * [-Dchaos.variants=query-alo,query-eos,wal-alo,wal-eos]}, or this class's main with arguments
 * {@code <minutes per variant> [seed]}. Runs each variant in turn, the n-th (from 0) with seed
 * {@code seed + n} so the variants do not all draw the same schedule (each run prints its own
 * seed, which replays it alone), prints each report's table and exits 1 when any run failed its
 * checks (any loss among them), 0 otherwise.
 */
public final class ChaosSoak {

    private ChaosSoak() {
    }

    public static void main(String[] args) throws Exception {
        double minutes = args.length > 0 ? Double.parseDouble(args[0])
                : Double.parseDouble(System.getProperty("chaos.minutes", "5"));
        String seedText = args.length > 1 ? args[1] : System.getProperty("chaos.seed", "");
        long seed = seedText.isBlank() ? System.nanoTime() : Long.parseLong(seedText);
        String variants = System.getProperty("chaos.variants", "query-alo,query-eos,wal-alo,wal-eos");
        Duration length = Duration.ofSeconds((long) (minutes * 60));
        List<ChaosReport> reports = new ArrayList<>();
        boolean failed = false;
        long runSeed = seed;
        for (String variant : variants.split(",")) {
            String v = variant.strip();
            if (!v.matches("(query|wal)-(alo|eos)")) {
                System.err.println("chaos.variants: unknown variant '" + v + "'; use query-alo, query-eos, wal-alo, wal-eos");
                System.exit(2);
            }
            try {
                ChaosReport report = Chaos.run(ChaosSettings.of(v.startsWith("wal"), v.endsWith("eos"), runSeed, length));
                reports.add(report);
                System.out.print(report.table());
                failed |= !report.passed();
            } catch (Exception | AssertionError e) {
                System.out.println("chaos: " + v + " with seed " + runSeed + " stopped: " + e);
                e.printStackTrace(System.out);
                failed = true;
            }
            runSeed++;
        }
        System.out.println("chaos soak: seeds from " + seed + ", " + minutes + " min per variant");
        reports.forEach(r -> System.out.print(r.table()));
        System.out.println(failed ? "chaos soak: FAILED" : "chaos soak: passed");
        System.exit(failed ? 1 : 0);
    }
}
