package dev.pgkeyset.connect.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * A real distributed Connect worker in a JVM of its own, so a test can kill it the hard way
 * (SIGKILL: no task stop, no final offset commit) as a crash or an OOM killer would.
 */
public final class ForkedWorker implements AutoCloseable {

    private final Process process;
    private final int restPort;
    private final Path log;
    private final HttpClient http = HttpClient.newHttpClient();

    private ForkedWorker(Process process, int restPort, Path log) {
        this.process = process;
        this.restPort = restPort;
        this.log = log;
    }

    /** The worker's log file (stdout and stderr), e.g. to read what its task logged. */
    public Path log() {
        return log;
    }

    /** Starts a worker of the Connect cluster {@code groupId} and waits until its REST API answers. */
    public static ForkedWorker start(String bootstrapServers, String groupId, Path dir) throws Exception {
        return start(bootstrapServers, groupId, dir, Map.of());
    }

    public static ForkedWorker start(String bootstrapServers, String groupId, Path dir, Map<String, String> extra)
            throws Exception {
        Files.createDirectories(dir);
        int port = freePort();
        Properties worker = new Properties();
        worker.putAll(ConnectFixture.workerProps());
        worker.put("bootstrap.servers", bootstrapServers);
        worker.put("group.id", groupId);
        worker.put("config.storage.topic", groupId + "-configs");
        worker.put("offset.storage.topic", groupId + "-offsets");
        worker.put("status.storage.topic", groupId + "-status");
        worker.put("config.storage.replication.factor", "1");
        worker.put("offset.storage.replication.factor", "1");
        worker.put("status.storage.replication.factor", "1");
        worker.put("listeners", "http://127.0.0.1:" + port);
        worker.put("rest.advertised.host.name", "127.0.0.1");
        worker.putAll(extra);
        Path props = dir.resolve("worker-" + port + ".properties");
        try (var out = Files.newBufferedWriter(props)) {
            worker.store(out, "forked test worker");
        }
        Path log = dir.resolve("worker-" + port + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-Xmx768m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"),
                "org.apache.kafka.connect.cli.ConnectDistributed", props.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ForkedWorker forked = new ForkedWorker(process, port, log);
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("forked worker exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (forked.get("/connectors").statusCode() == 200) {
                    return forked;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                forked.close();
                throw new AssertionError("forked worker did not start within 2 minutes; see " + log);
            }
            Thread.sleep(250);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> put(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public void putConnector(String name, Map<String, String> config) throws IOException, InterruptedException {
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(config);
        HttpResponse<String> response = put("/connectors/" + name + "/config", json);
        if (response.statusCode() >= 300) {
            throw new AssertionError("PUT connector config failed: " + response.statusCode() + " " + response.body());
        }
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + restPort + path);
    }

    /** SIGKILL: the worker gets no chance to stop its tasks or commit offsets. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
