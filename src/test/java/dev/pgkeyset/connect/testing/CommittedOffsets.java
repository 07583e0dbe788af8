package dev.pgkeyset.connect.testing;

import java.util.Map;

import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads a connector's committed offsets over the worker's REST API (GET /connectors/{name}/offsets). */
public final class CommittedOffsets {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CommittedOffsets() {
    }

    /** The first key value of the table's committed snapshot position, or -1 when none is committed yet. */
    public static long snapshotKey(EmbeddedConnectCluster connect, String connector, String table) {
        for (ConnectorOffset offset : connect.connectorOffsets(connector).offsets()) {
            if (table.equals(offset.partition().get("table"))) {
                return firstKeyValue(offset.offset());
            }
        }
        return -1;
    }

    public static long firstKeyValue(Map<String, ?> offset) {
        try {
            JsonNode key = JSON.readTree((String) offset.get("key"));
            return key.get(0).asLong();
        } catch (Exception e) {
            throw new AssertionError("unexpected offset " + offset, e);
        }
    }
}
