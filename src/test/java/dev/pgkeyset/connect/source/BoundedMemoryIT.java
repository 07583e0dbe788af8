package dev.pgkeyset.connect.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The task reads a table five times larger than its whole heap: rows stream through the server-side
 * cursor and leave in bounded batches. The same table loaded the usual JDBC way in the same heap
 * runs out of memory, which shows the table is big enough for the first result to mean something.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BoundedMemoryIT {

    private static final int ROWS = 600_000;
    private static final String HEAP = "-Xmx64m";

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("bounded_memory");
        // ~560 bytes a row: about 330 MB of table.
        db.execute("CREATE TABLE wide (id bigint PRIMARY KEY, payload text NOT NULL)",
                "INSERT INTO wide SELECT g, repeat(md5(g::text), 16) FROM generate_series(1, " + ROWS + ") g",
                "ANALYZE wide");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void taskReadsATableFiveTimesItsHeap() throws Exception {
        long tableBytes = db.queryLong("SELECT pg_table_size('wide')");
        assertTrue(tableBytes >= 300L * 1024 * 1024, "table is at least 300 MB, is " + tableBytes / (1024 * 1024));

        Result task = run("task");
        assertEquals(0, task.exitCode, "task run in " + HEAP + " failed:\n" + task.output);
        assertTrue(task.output.contains("rows=" + ROWS + " "), "every row, in key order, once:\n" + task.output);

        Result naive = run("naive");
        assertEquals(3, naive.exitCode, "a plain JDBC read of the same table must not fit in " + HEAP
                + " (else this test proves nothing):\n" + naive.output);
        assertTrue(naive.output.contains("OutOfMemoryError"), naive.output);
        System.out.printf("bounded memory: table %d MiB, heap %s: task read %d rows; plain JDBC: %s%n",
                tableBytes / (1024 * 1024), HEAP, ROWS, naive.output.lines().reduce((a, b) -> b).orElse(""));
    }

    private record Result(int exitCode, String output) {
    }

    private Result run(String mode) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, HEAP, "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), BoundedMemoryMain.class.getName(),
                mode, db.jdbcUrl(), db.user()));
        if (db.password() != null) {
            command.add(db.password());
        }
        Path log = Files.createTempFile("bounded-memory-" + mode, ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        int exit = process.waitFor();
        String output = Files.readString(log);
        Files.deleteIfExists(log);
        return new Result(exit, output);
    }
}
