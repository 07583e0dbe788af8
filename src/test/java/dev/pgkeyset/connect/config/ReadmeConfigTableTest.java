package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The README's configuration reference is the ConfigDef's: this fails when they drift. */
class ReadmeConfigTableTest {

    @Test
    void readmeCarriesTheGeneratedTable() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int begin = readme.indexOf(ConfigDocs.BEGIN);
        int end = readme.indexOf(ConfigDocs.END);
        assertTrue(begin >= 0 && end > begin, "README.md must hold the markers " + ConfigDocs.BEGIN + " and " + ConfigDocs.END);
        String actual = readme.substring(begin + ConfigDocs.BEGIN.length(), end).strip();
        String expected = ConfigDocs.markdownTable().strip();
        if (!expected.equals(actual)) {
            Path generated = Path.of("target", "config-table.md");
            Files.createDirectories(generated.getParent());
            Files.writeString(generated, ConfigDocs.BEGIN + "\n" + ConfigDocs.markdownTable() + ConfigDocs.END + "\n");
        }
        assertEquals(expected, actual, "README.md's configuration table is out of date; replace it with "
                + "target/config-table.md");
    }

    @Test
    void theTableIgnoresTheDefaultLocale() {
        String expected = ConfigDocs.markdownTable();
        for (java.util.Locale locale : dev.pgkeyset.connect.testing.DefaultLocale.HOSTILE) {
            dev.pgkeyset.connect.testing.DefaultLocale.under(locale,
                    () -> assertEquals(expected, ConfigDocs.markdownTable(), locale.toLanguageTag()));
        }
    }
}
