package dev.pgkeyset.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;

import dev.pgkeyset.connect.testing.TaskHarness;

/**
 * The connector's read path alone: the task, as a worker drives it, with no Kafka. Measures rows/s,
 * peak heap, GC time and the time of each poll, so the first batches can be set against the last.
 */
final class TaskReadPath {

    record Result(double rowsPerSecond, double peakHeapMib, long gcMillis, double firstPollsMs, double lastPollsMs,
                  List<double[]> heapSeries) {
    }

    private final BenchData data;

    TaskReadPath(BenchData data) {
        this.data = data;
    }

    Result run() throws Exception {
        Map<String, String> props = new java.util.HashMap<>(data.connectionProps());
        props.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        props.put("table.include.list", "public\\.pgbench_accounts");
        props.put("topic.prefix", "bench");
        props.put("snapshot.mode", "initial_only");
        props.put("poll.interval.ms", "10");
        List<Double> pollMillis = new ArrayList<>();
        long rows = 0;
        long start;
        double seconds;
        try (HeapSampler heap = new HeapSampler(); TaskHarness harness = new TaskHarness(props).start()) {
            start = System.nanoTime();
            while (true) {
                long before = System.nanoTime();
                List<SourceRecord> batch = harness.poll();
                if (batch == null) {
                    break;
                }
                pollMillis.add((System.nanoTime() - before) / 1e6);
                rows += batch.size();
            }
            seconds = (System.nanoTime() - start) / 1e9;
            heap.close();
            if (rows != data.rows) {
                throw new IllegalStateException("the task read " + rows + " rows of " + data.rows);
            }
            int edge = Math.max(1, Math.min(50, pollMillis.size() / 4));
            return new Result(rows / seconds, heap.peakLiveMib(), heap.gcMillisSinceStart(),
                    Stats.of(pollMillis.subList(0, edge)).median(),
                    Stats.of(pollMillis.subList(pollMillis.size() - edge, pollMillis.size())).median(),
                    heap.series());
        }
    }
}
