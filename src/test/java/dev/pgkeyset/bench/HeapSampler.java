package dev.pgkeyset.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;

/**
 * Samples the used heap every 50 ms while a measurement runs (garbage included: the sawtooth of
 * the chart), records the heap still in use after each collection (the live data, whose peak is
 * the figure that matters for bounded memory), and counts GC time.
 */
final class HeapSampler implements AutoCloseable {

    private final List<double[]> samples = new ArrayList<>();
    private final long startNanos = System.nanoTime();
    private final long gcStartMillis = gcMillis();
    private final Thread thread;
    private final NotificationListener afterGc;
    private volatile boolean running = true;
    private volatile double peakLiveMib;

    HeapSampler() {
        System.gc();
        afterGc = (notification, handback) -> {
            if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
                GarbageCollectionNotificationInfo info =
                        GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
                long used = 0;
                for (Map.Entry<String, MemoryUsage> pool : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                    if (!pool.getKey().contains("Metaspace") && !pool.getKey().contains("Code")
                            && !pool.getKey().contains("Compressed")) {
                        used += pool.getValue().getUsed();
                    }
                }
                peakLiveMib = Math.max(peakLiveMib, used / (1024.0 * 1024.0));
            }
        };
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener(afterGc, null, null);
        }
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

    /** The most heap in use right after a collection during the run: what the run kept alive. */
    double peakLiveMib() {
        return peakLiveMib;
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
    public void close() throws Exception {
        if (!running) {
            return;
        }
        running = false;
        thread.join();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).removeNotificationListener(afterGc);
        }
    }
}
