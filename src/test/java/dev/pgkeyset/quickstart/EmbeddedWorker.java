package dev.pgkeyset.quickstart;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.connect.cli.ConnectDistributed;
import org.apache.kafka.connect.runtime.Connect;

import com.fasterxml.jackson.databind.ObjectMapper;

/** A distributed Connect worker in this JVM, REST API on localhost:8083 (or --rest-port), state in the embedded Kafka. */
final class EmbeddedWorker implements AutoCloseable {

    static final int DEFAULT_PORT = 8083;

    private final Connect<?> connect;
    private final String rest;

    private EmbeddedWorker(Connect<?> connect, String rest) {
        this.connect = connect;
        this.rest = rest;
    }

    static String rest(int port) {
        return "http://localhost:" + port;
    }

    String rest() {
        return rest;
    }

    static EmbeddedWorker start(String bootstrap, Path dataDir, int restPort) {
        String rest = rest(restPort);
        Map<String, String> worker = new HashMap<>();
        worker.put("bootstrap.servers", bootstrap);
        worker.put("group.id", "pgkeyset-quickstart");
        worker.put("config.storage.topic", "quickstart-connect-configs");
        worker.put("offset.storage.topic", "quickstart-connect-offsets");
        worker.put("status.storage.topic", "quickstart-connect-status");
        worker.put("config.storage.replication.factor", "1");
        worker.put("offset.storage.replication.factor", "1");
        worker.put("status.storage.replication.factor", "1");
        worker.put("key.converter", "org.apache.kafka.connect.json.JsonConverter");
        worker.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        // Decimals as JSON numbers (12.34), not JsonConverter's default base64 of the unscaled bytes.
        worker.put("key.converter.decimal.format", "NUMERIC");
        worker.put("value.converter.decimal.format", "NUMERIC");
        worker.put("offset.flush.interval.ms", "2000");
        worker.put("listeners", rest);
        worker.put("plugin.discovery", "service_load");
        worker.put("scheduled.rebalance.max.delay.ms", "0");
        return new EmbeddedWorker(new ConnectDistributed().startConnect(worker), rest);
    }

    /** Creates or updates the connector over the worker's own REST API. */
    void putConnector(String name, Map<String, String> config) throws IOException, InterruptedException,
            Quickstart.Failure {
        String json = new ObjectMapper().writeValueAsString(config);
        Quickstart.put(URI.create(rest + "/connectors/" + name + "/config"), json);
    }

    @Override
    public void close() {
        connect.stop();
        connect.awaitStop();
    }
}
