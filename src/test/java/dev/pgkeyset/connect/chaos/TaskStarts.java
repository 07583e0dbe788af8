package dev.pgkeyset.connect.chaos;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

/**
 * Samples the connector's task states over REST every 250 ms and counts task starts: a task seen
 * RUNNING after being seen in another state, or RUNNING on another worker than before. A restart
 * quicker than one sample is missed, so this is a lower bound. FAILED states are kept with their
 * trace: a chaos run must never fail a task.
 */
final class TaskStarts extends Thread implements AutoCloseable {

    private final EmbeddedConnectCluster connect;
    private final String connector;
    private final Map<Integer, String> last = new HashMap<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private volatile int starts;
    private volatile boolean stop;

    TaskStarts(EmbeddedConnectCluster connect, String connector) {
        super("chaos-task-starts");
        setDaemon(true);
        this.connect = connect;
        this.connector = connector;
    }

    @Override
    public void run() {
        while (!stop) {
            try {
                ConnectorStateInfo status = connect.connectorStatus(connector);
                for (ConnectorStateInfo.TaskState task : status.tasks()) {
                    String now = task.state() + "@" + task.workerId();
                    String before = last.put(task.id(), now);
                    if ("RUNNING".equals(task.state()) && !now.equals(before)) {
                        starts++;
                    }
                    if ("FAILED".equals(task.state()) && failures.size() < 20) {
                        failures.add("task " + task.id() + " FAILED on " + task.workerId() + ": " + task.trace());
                    }
                }
            } catch (RuntimeException notAnsweringNow) {
                // a worker going away or the broker down: no sample this time
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Task starts seen, less the first start of each task. */
    int restarts() {
        return Math.max(0, starts - last.size());
    }

    List<String> failures() {
        return failures;
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        interrupt();
        join(5_000);
    }
}
