package dev.pgkeyset.quickstart;

import java.lang.management.ManagementFactory;
import java.util.Set;

import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The connector's own metrics, read over JMX in this JVM (the embedded worker publishes them as
 * plugin metrics): in wal mode {@code wal-lag-bytes}, the server's WAL position minus what the
 * stream received, which stays near zero while the connector keeps up, even when idle.
 */
final class WorkerGauges {

    private final String connector;
    private final boolean wal;

    WorkerGauges(String connector, boolean wal) {
        this.connector = connector;
        this.wal = wal;
    }

    /** "0 B of WAL" and so on; null in query mode or before the first sample. */
    String lag() {
        if (!wal) {
            return null;
        }
        try {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            Set<ObjectName> names = jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector="
                    + org.apache.kafka.common.utils.Sanitizer.jmxSanitize(connector) + ",*"), null);
            for (ObjectName name : names) {
                try {
                    Object bytes = jmx.getAttribute(name, "wal-lag-bytes");
                    if (bytes instanceof Long b && b >= 0) {
                        return ProgressLine.bytes(b) + " of WAL";
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
}
