package dev.pgkeyset.quickstart;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A single-node Kafka (KRaft, broker and controller in one) on localhost:9092 (or --kafka-port) whose
 * log lives in the quickstart's data directory, so topics and the connector's offsets survive a
 * re-run. The controller's listener is internal to this JVM, so it takes a free port each start
 * (no second fixed port to collide with another quickstart or a test).
 */
final class EmbeddedKafka implements AutoCloseable {

    static final int DEFAULT_PORT = 9092;

    private final KafkaRaftServer server;
    private final int port;

    private EmbeddedKafka(KafkaRaftServer server, int port) {
        this.server = server;
        this.port = port;
    }

    static String bootstrap(int port) {
        return "localhost:" + port;
    }

    String bootstrap() {
        return bootstrap(port);
    }

    static EmbeddedKafka start(Path dataDir, int port) throws Exception {
        int controllerPort = Ports.free();
        Path logDir = dataDir.resolve("kafka");
        Files.createDirectories(logDir);
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@localhost:" + controllerPort);
        props.put("listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("num.partitions", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("auto.create.topics.enable", "false");
        if (!Files.exists(logDir.resolve("meta.properties"))) {
            Path config = dataDir.resolve("kafka.properties");
            try (var out = Files.newBufferedWriter(config)) {
                props.store(out, "quickstart broker");
            }
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            int exit = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c",
                    config.toString()}, new PrintStream(output, true, StandardCharsets.UTF_8));
            if (exit != 0) {
                throw new IllegalStateException("formatting the Kafka log in " + logDir + " failed: " + output);
            }
        }
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
        server.startup();
        return new EmbeddedKafka(server, port);
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }
}
