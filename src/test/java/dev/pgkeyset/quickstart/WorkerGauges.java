package dev.pgkeyset.quickstart;

import java.lang.management.ManagementFactory;
import java.util.Set;

import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The connector's own metrics, read over JMX in this JVM (the embedded worker publishes them as
 * plugin metrics): in wal mode {@code wal-lag-bytes}, the server's WAL position minus what the
 * stream received, which stays near zero while the connector keeps up, even when idle; in query
 * mode the largest {@code change-lag-ms} of the tables, now minus the tracking value of the last
 * change delivered (it grows while nothing changes: a query cannot tell idle from behind).
 */
final class WorkerGauges {

    private final String connector;
    private final boolean wal;

    WorkerGauges(String connector, boolean wal) {
        this.connector = connector;
        this.wal = wal;
    }

    /**
     * "lag 0 B of WAL" (wal mode); in query mode "newest change 1.2 s old (updated_at)", not called
     * a lag since it grows while nothing changes; null before the first sample.
     */
    String lag() {
        if (!wal) {
            long millis = largest("change-lag-ms");
            return millis < 0 ? null : "newest change " + ProgressLine.seconds(millis) + " old (updated_at)";
        }
        try {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            Set<ObjectName> names = jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector="
                    + org.apache.kafka.common.utils.Sanitizer.jmxSanitize(connector) + ",*"), null);
            for (ObjectName name : names) {
                try {
                    Object bytes = jmx.getAttribute(name, "wal-lag-bytes");
                    if (bytes instanceof Long b && b >= 0) {
                        return "lag " + ProgressLine.bytes(b) + " of WAL";
                    }
                } catch (javax.management.AttributeNotFoundException notThisOne) {
                    // a table's gauges: the WAL's are on another name
                }
            }
        } catch (javax.management.JMException e) {
            return null;
        }
        return null;
    }

    /** The largest value ≥ 0 of a gauge over the connector's metric groups; -1 where none has one. */
    private long largest(String gauge) {
        long largest = -1;
        try {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            for (ObjectName name : jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector="
                    + org.apache.kafka.common.utils.Sanitizer.jmxSanitize(connector) + ",*"), null)) {
                try {
                    if (jmx.getAttribute(name, gauge) instanceof Long value) {
                        largest = Math.max(largest, value);
                    }
                } catch (javax.management.AttributeNotFoundException notThisOne) {
                    // another group's gauges
                }
            }
        } catch (javax.management.JMException e) {
            return -1;
        }
        return largest;
    }
}
