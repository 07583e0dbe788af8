package dev.pgkeyset.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/** Samples the used heap every 50 ms while a measurement runs; also counts GC time. */
final class HeapSampler implements AutoCloseable {

    private final List<double[]> samples = new ArrayList<>();
    private final long startNanos = System.nanoTime();
    private final long gcStartMillis = gcMillis();
    private final Thread thread;
    private volatile boolean running = true;

    HeapSampler() {
        System.gc();
        thread = new Thread(() -> {
            while (running) {
                Runtime rt = Runtime.getRuntime();
                double usedMib = (rt.totalMemory() - rt.freeMemory()) / (1024.0 * 1024.0);
                synchronized (samples) {
                    samples.add(new double[] {(System.nanoTime() - startNanos) / 1e9, usedMib});
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private static long gcMillis() {
        long total = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    double peakMib() {
        synchronized (samples) {
            return samples.stream().mapToDouble(s -> s[1]).max().orElse(0);
        }
    }

    List<double[]> series() {
        synchronized (samples) {
            return new ArrayList<>(samples);
        }
    }

    long gcMillisSinceStart() {
        return gcMillis() - gcStartMillis;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join();
    }
}
