package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.pgkeyset.connect.PgKeysetSourceConnector;

/** Every sample under config/ parses and passes the ConfigDef's validation. */
class ConfigSamplesTest {

    @Test
    void everySampleIsAValidConnectorConfig() throws Exception {
        int samples = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of("config"))) {
            for (Path file : files) {
                Map<String, String> config = read(file);
                if (config == null) {
                    continue;
                }
                samples++;
                if (file.getFileName().toString().equals("quickstart.properties")) {
                    // The quickstart adds the connection from the PG* variables.
                    config.putIfAbsent("connection.url", "jdbc:postgresql://localhost:5432/postgres");
                }
                assertEquals(PgKeysetSourceConnector.class.getName(), config.get("connector.class"), file.toString());
                new PgKeysetConfig(config); // throws, naming the key, on any invalid value
                PgKeysetConfig.CONFIG_DEF.validate(config).forEach(v ->
                        assertTrue(v.errorMessages().isEmpty(), file + ": " + v.name() + " " + v.errorMessages()));
            }
        }
        assertFalse(samples < 2, "at least a standalone and a REST sample");
    }

    private static Map<String, String> read(Path file) throws Exception {
        String name = file.getFileName().toString();
        if (name.endsWith(".properties")) {
            Properties props = new Properties();
            try (Reader in = Files.newBufferedReader(file)) {
                props.load(in);
            }
            Map<String, String> map = new HashMap<>();
            props.forEach((k, v) -> map.put((String) k, (String) v));
            return map.containsKey("connector.class") ? map : null;
        }
        if (name.endsWith(".json")) {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            return new ObjectMapper().convertValue(root.get("config"), new TypeReference<Map<String, String>>() { });
        }
        return null;
    }
}
