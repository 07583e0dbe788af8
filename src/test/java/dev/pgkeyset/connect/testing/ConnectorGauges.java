package dev.pgkeyset.connect.testing;

import java.lang.management.ManagementFactory;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** A connector's plugin metrics as the worker publishes them over JMX (in this JVM). */
public final class ConnectorGauges {

    private ConnectorGauges() {
    }

    /** A table's snapshot-progress-percent says 100: its snapshot (its last chunk) was handed over. */
    public static boolean snapshotDone(String connector) {
        try {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            for (ObjectName gauge : jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector="
                    + connector + ",*"), null)) {
                if (gauge.getKeyProperty("table") != null
                        && ((Double) jmx.getAttribute(gauge, "snapshot-progress-percent")) >= 100.0) {
                    return true;
                }
            }
            return false;
        } catch (JMException e) {
            return false;
        }
    }

    /** The rows a table's reader has handed over so far (rows-read-total); 0 before it is registered. */
    public static long rowsRead(String connector) {
        try {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            for (ObjectName gauge : jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector="
                    + connector + ",*"), null)) {
                if (gauge.getKeyProperty("table") != null) {
                    return (Long) jmx.getAttribute(gauge, "rows-read-total");
                }
            }
        } catch (JMException e) {
            // not registered yet
        }
        return 0;
    }

    /** A gauge of the connector's slot (tagged slot=...). */
    public static long slotGauge(String connector, String slot, String gauge) throws JMException {
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = jmx.queryNames(new ObjectName("kafka.connect:type=plugins,connector=" + connector + ",*"),
                null).stream().filter(n -> slot.equals(n.getKeyProperty("slot"))).findFirst().orElseThrow();
        return (Long) jmx.getAttribute(name, gauge);
    }
}
