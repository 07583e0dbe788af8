package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A --data-dir that cannot be written is one line and exit 1, before anything starts. */
class DataDirTest {

    @TempDir
    Path tmp;

    @Test
    void aMissingDataDirectoryIsMadeWithItsLogFile() throws Exception {
        Path dir = tmp.resolve("a/b");
        Quickstart.writableDataDir(dir);
        assertTrue(Files.isRegularFile(dir.resolve("quickstart.log")));
    }

    @Test
    void aFileGivenAsTheDataDirectoryIsOneLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        Quickstart.Failure f = assertThrows(Quickstart.Failure.class, () -> Quickstart.writableDataDir(file));
        assertEquals("cannot write to the data directory " + file + " (not a directory): choose another with "
                + "--data-dir", f.getMessage());
        assertEquals(1, f.exitCode);
    }

    @Test
    void aDataDirectoryBelowAFileIsOneLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        Quickstart.Failure f = assertThrows(Quickstart.Failure.class,
                () -> Quickstart.writableDataDir(file.resolve("data")));
        assertTrue(f.getMessage().startsWith("cannot write to the data directory " + file.resolve("data") + " ("),
                f.getMessage());
    }
}
