package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;

/**
 * No Docker engine runs here, so the compose stack is checked by reading it: the services exist,
 * every file it and its Dockerfile refer to exists, the worker's plugin.path is where the Dockerfile
 * unzips the archive, and the connector it registers is valid for the connector's ConfigDef.
 */
class DockerStackTest {

    private static final Path DOCKER = Path.of("docker");

    @Test
    void composeFileNamesTheStackAndOnlyFilesThatExist() throws Exception {
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(DOCKER.resolve("compose.yml").toFile());
        JsonNode services = compose.get("services");
        Set<String> names = new TreeSet<>();
        services.fieldNames().forEachRemaining(names::add);
        assertEquals(Set.of("postgres", "kafka", "connect", "register"), names);

        JsonNode build = services.get("connect").get("build");
        Path context = DOCKER.resolve(build.get("context").asText()).normalize();
        Path dockerfile = context.resolve(build.get("dockerfile").asText());
        assertTrue(Files.isRegularFile(dockerfile), dockerfile.toString());

        List<Path> mounted = new ArrayList<>();
        for (String service : names) {
            JsonNode volumes = services.get(service).get("volumes");
            if (volumes != null) {
                volumes.forEach(v -> mounted.add(DOCKER.resolve(v.asText().split(":")[0]).normalize()));
            }
        }
        assertEquals(3, mounted.size(), mounted.toString());
        mounted.forEach(file -> assertTrue(Files.isRegularFile(file), "mounted file " + file + " exists"));
    }

    @Test
    void dockerfileCopiesThePluginArchiveIntoThePluginPath() throws Exception {
        List<String> lines = Files.readAllLines(DOCKER.resolve("Dockerfile"));
        List<String> copies = lines.stream().filter(l -> l.startsWith("COPY ") && !l.contains("--from")).toList();
        assertTrue(copies.stream().anyMatch(l -> l.contains("target/kafka-connect-pg-keyset-*.zip")),
                "the Dockerfile installs the archive mvn package writes: " + copies);
        copies.stream().map(l -> l.split("\\s+")[1]).filter(source -> !source.startsWith("target/"))
                .forEach(source -> assertTrue(Files.exists(Path.of(source)), "COPY source " + source));

        Properties worker = new Properties();
        try (Reader in = Files.newBufferedReader(DOCKER.resolve("connect-worker.properties"))) {
            worker.load(in);
        }
        String pluginDir = lines.stream().filter(l -> l.startsWith("COPY --from=plugin"))
                .map(l -> l.split("\\s+")[3]).findFirst().orElseThrow();
        assertEquals(pluginDir.replaceAll("/$", ""), worker.getProperty("plugin.path"));
        assertEquals("service_load", worker.getProperty("plugin.discovery"));
    }

    @Test
    void theRegisteredConnectorIsValid() throws Exception {
        String script = Files.readString(DOCKER.resolve("register.sh"));
        String configPath = "/config/pg-keyset-compose.json";
        assertTrue(script.contains(configPath), "register.sh posts the mounted config");
        JsonNode root = new ObjectMapper().readTree(Path.of("config", "pg-keyset-compose.json").toFile());
        assertNotNull(root.get("name"));
        Map<String, String> config = new ObjectMapper().convertValue(root.get("config"), new TypeReference<>() { });
        new PgKeysetConfig(config);
        PgKeysetConfig.CONFIG_DEF.validate(config).forEach(v ->
                assertTrue(v.errorMessages().isEmpty(), v.name() + " " + v.errorMessages()));
        assertTrue(config.get("connection.url").contains("//postgres:5432/shop"), "points at the compose service");
    }
}
