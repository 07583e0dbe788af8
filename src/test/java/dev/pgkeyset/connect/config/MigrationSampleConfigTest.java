package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

/**
 * The README's sample config for a move from Debezium (config/pg-keyset-from-debezium.properties)
 * is one this connector accepts: every key known, every value valid, and it asks for the envelope.
 */
class MigrationSampleConfigTest {

    @Test
    void theSampleIsValid() throws Exception {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(Path.of("config", "pg-keyset-from-debezium.properties"))) {
            properties.load(reader);
        }
        Map<String, String> config = new HashMap<>();
        properties.stringPropertyNames().forEach(k -> config.put(k, properties.getProperty(k)));
        PgKeysetConfig parsed = new PgKeysetConfig(config);
        PgKeysetConfig.CONFIG_DEF.validate(config).forEach(v ->
                assertTrue(v.errorMessages().isEmpty(), v.name() + " " + v.errorMessages()));
        for (String key : config.keySet()) {
            boolean worker = key.equals("name") || key.equals("connector.class") || key.equals("tasks.max")
                    || key.startsWith("topic.creation.");
            assertTrue(worker || PgKeysetConfig.CONFIG_DEF.names().contains(key), "unknown key " + key);
        }
        assertEquals(RecordFormat.ENVELOPE, parsed.recordFormat());
        assertEquals("shop", parsed.topicPrefix());
    }
}
