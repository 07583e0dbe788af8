package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    private static final String WIDE_HEAP = "-Xmx128m";

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

    /**
     * Rows of 2 MiB, read with the default fetch.size (5,000) and batch.max.bytes (8 MiB) in a heap
     * of 128 MiB: a fetch of fetch.size rows would be the whole 600 MiB table. Each round trip is
     * sized by bytes instead, so every row arrives whole and the heap never runs out.
     */
    @Test
    void wideRowsWithTheDefaultFetchSizeFitASmallHeap() throws Exception {
        int rows = WIDE_ROWS;
        wideRows();
        long tableBytes = db.queryLong("SELECT sum(octet_length(payload)) FROM wide_rows");
        assertEquals(rows * 2L * 1024 * 1024, tableBytes, "300 rows of 2 MiB");

        Result task = run("task:wide_rows", WIDE_HEAP);
        System.out.printf("wide rows: %d rows of 2 MiB (%d MiB) in %s, default fetch.size: exit %d, %s%n", rows,
                tableBytes / (1024 * 1024), WIDE_HEAP, task.exitCode, task.output.lines()
                        .filter(l -> l.startsWith("rows=") || l.contains("task failed") || l.contains("OutOfMemory")
                                || l.contains("53200")).limit(5).toList());
        assertFalse(task.output.contains("OutOfMemoryError") || task.output.contains("Ran out of memory"),
                "no fetch may run out of memory:\n" + task.output);
        assertEquals(0, task.exitCode, "task run in " + WIDE_HEAP + " failed:\n" + task.output);
        assertTrue(task.output.contains("rows=" + rows + " "), "every row, whole, in key order, once:\n" + task.output);
    }

    /**
     * The adversary's case: 20,000 one-byte rows teach the fetch size to grow to fetch.size (5,000),
     * then ~300 rows of 2 MiB follow. One fetch of 5,000 rows would take in all of them (600 MiB) in a
     * heap of 128 MiB; the fetch must be cut short by bytes instead, and every row still arrive once,
     * in key order (the keys and payload lengths come from PostgreSQL).
     */
    @Test
    void wideRowsAfterNarrowOnesFitASmallHeap() throws Exception {
        int narrow = 20_000;
        int wide = WIDE_ROWS;
        wideRows();
        // The wide rows copied from wide_rows (their TOASTed values are copied, not generated again).
        db.execute("CREATE TABLE narrow_then_wide (id bigint PRIMARY KEY, payload bytea NOT NULL)",
                "INSERT INTO narrow_then_wide SELECT g, '\\x61'::bytea FROM generate_series(1, " + narrow + ") g",
                "INSERT INTO narrow_then_wide SELECT " + narrow + " + id, payload FROM wide_rows",
                "ANALYZE narrow_then_wide");
        assertEquals(wide * 2L * 1024 * 1024, db.queryLong(
                "SELECT sum(octet_length(payload)) FROM narrow_then_wide WHERE octet_length(payload) > 1"), "wide rows");

        long started = System.nanoTime();
        Result task = run("task:narrow_then_wide", WIDE_HEAP);
        System.out.printf("narrow then wide: %d rows of 1 byte, then %d of 2 MiB, in %s, defaults: exit %d in %d ms, "
                        + "%d fetch(es) stopped for their bytes, %s%n",
                narrow, wide, WIDE_HEAP, task.exitCode, (System.nanoTime() - started) / 1_000_000,
                task.output.lines().filter(l -> l.contains("INFO ReadFailures") && l.contains("rows passed")).count(),
                task.output.lines().filter(l -> l.startsWith("rows=") || l.contains("task failed")
                        || l.contains("OutOfMemory") || l.contains("53200")).limit(5).toList());
        assertFalse(task.output.contains("OutOfMemoryError") || task.output.contains("Ran out of memory")
                || task.output.contains("ran out of the worker's heap"), "no fetch may run out of memory:\n" + task.output);
        assertEquals(0, task.exitCode, "task run in " + WIDE_HEAP + " failed:\n" + task.output);
        assertTrue(task.output.contains("rows=" + (narrow + wide) + " "),
                "every row, whole, in key order, once:\n" + task.output);
    }

    /**
     * A fetch stopped by maxResultBuffer leaves its connection out of step with the server: the pool
     * must not hand it out again. With a pool of one connection, the next one is another backend.
     * Also checks that the real pgjdbc error is the one {@code SqlErrors.isResultBufferExceeded}
     * recognizes. With pgjdbc 42.7.14 and HikariCP 6.3.3 the next backend differs even without
     * {@code ConnectionFactory.discard}: pgjdbc closes the connection when it reads the rest of the
     * row as the next message, and HikariCP evicts a connection that threw an 08 state. This guards
     * the outcome across upgrades of either; discard() is what the connector itself relies on.
     */
    @Test
    void aFetchOverTheLimitDiscardsItsConnection() throws Exception {
        Result run = run("discard", "-Xmx64m");
        String line = run.output.lines().filter(l -> l.startsWith("discard:")).findFirst().orElse("");
        System.out.println("over the limit: " + line);
        assertEquals(0, run.exitCode, run.output);
        assertTrue(line.contains("thrown=08S01 resultBufferExceeded=true"), "pgjdbc stopped the fetch:\n" + run.output);
        String first = line.replaceAll(".*firstBackend=(\\d+).*", "$1");
        String next = line.replaceAll(".*nextBackend=(\\d+).*", "$1");
        assertFalse(first.equals(next), "the next connection is a new backend:\n" + line);
    }

    /**
     * A single row larger than the whole heap cannot be read by any fetch size: the task fails at
     * once (no retries that fill the shared heap again) with a message saying what to change.
     */
    @Test
    void aRowLargerThanTheHeapFailsTheTaskOnceWithTheRemedy() throws Exception {
        db.execute("CREATE TABLE huge_row (id bigint PRIMARY KEY, payload bytea NOT NULL)",
                "INSERT INTO huge_row SELECT 1, decode(repeat(md5('huge'), 5 * 1024 * 1024), 'hex')");
        Result task = run("task:huge_row", "-Xmx64m");
        System.out.printf("huge row: 80 MiB in -Xmx64m: exit %d, %s%n", task.exitCode, task.output.lines()
                .filter(l -> l.contains("task failed") || l.contains("attempt")).limit(5).toList());
        assertEquals(4, task.exitCode, "the task fails with a ConnectException:\n" + task.output);
        assertTrue(task.output.contains("batch.max.bytes") && task.output.contains("heap"),
                "the message says what to change:\n" + task.output);
        assertFalse(task.output.contains("attempt 1 of"), "an out-of-memory is not retried:\n" + task.output);
    }

    private static final int WIDE_ROWS = 300;
    private boolean wideRowsCreated;

    /** {@code wide_rows}: 300 rows of 2 MiB, made once for the tests that need them. */
    private synchronized void wideRows() {
        if (wideRowsCreated) {
            return;
        }
        // A 16-byte pattern repeated: TOAST compresses it to almost nothing on disk, but each row is
        // 2 MiB on the wire and in the heap, which is all that matters here.
        db.execute("CREATE TABLE wide_rows (id bigint PRIMARY KEY, payload bytea NOT NULL)",
                "INSERT INTO wide_rows SELECT g, decode(repeat(md5(g::text), 131072), 'hex')"
                        + " FROM generate_series(1, " + WIDE_ROWS + ") g");
        wideRowsCreated = true;
    }

    private record Result(int exitCode, String output) {
    }

    private Result run(String mode) throws Exception {
        return run(mode, HEAP);
    }

    private Result run(String mode, String heap) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, heap, "-XX:+UseSerialGC",
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
