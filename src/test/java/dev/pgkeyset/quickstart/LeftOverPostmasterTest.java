package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A postmaster.pid left by a killed run names a pid that may belong to another process by the
 * next run, even to another PostgreSQL. The next run stops only a postgres working in its own data
 * directory; a pid working elsewhere makes the file stale, and it is removed. The "postgres" here is a copy of sleep named so, working where the test says.
 */
class LeftOverPostmasterTest {

    @TempDir
    Path tmp;

    @Test
    void aPostgresOfAnotherDataDirectoryUnderTheStalePidIsLeftRunning() throws Exception {
        Path ours = Files.createDirectories(tmp.resolve("quickstart-data/postgres"));
        Path theirs = Files.createDirectories(tmp.resolve("other-server-data"));
        Process other = fakePostgres(theirs);
        try {
            writePostmasterPid(ours, other.pid());
            assertEquals(Optional.of(false), EmbeddedPostgresServer.worksIn(other.pid(), ours));

            EmbeddedPostgresServer.stopLeftOver(ours);

            assertFalse(other.waitFor(1, TimeUnit.SECONDS), "the other data directory's postgres was stopped");
            // Stale: removed, so PostgreSQL starts, and Zonky's clean-up (pg_ctl stop) cannot reach that pid.
            assertFalse(Files.exists(ours.resolve("postmaster.pid")));
        } finally {
            other.destroyForcibly().waitFor();
        }
    }

    @Test
    void thePostgresLeftRunningOnThisDataDirectoryIsStopped() throws Exception {
        Path ours = Files.createDirectories(tmp.resolve("quickstart-data/postgres"));
        Process leftOver = fakePostgres(ours);
        try {
            writePostmasterPid(ours, leftOver.pid());
            assertEquals(Optional.of(true), EmbeddedPostgresServer.worksIn(leftOver.pid(), ours));

            EmbeddedPostgresServer.stopLeftOver(ours);

            assertTrue(leftOver.waitFor(5, TimeUnit.SECONDS), "the left-over postgres still runs");
        } finally {
            leftOver.destroyForcibly().waitFor();
        }
    }

    @Test
    void aPidThatIsGoneCannotBeLookedAt() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertEquals(Optional.empty(), EmbeddedPostgresServer.worksIn(gone.pid(), tmp));
    }

    /** A long-running process whose executable ends with /postgres, working in {@code cwd}. */
    private Process fakePostgres(Path cwd) throws Exception {
        Path sleep = Path.of("/bin/sleep");
        assumeTrue(Files.isDirectory(Path.of("/proc/self")) && Files.isExecutable(sleep), "needs Linux /proc and sleep");
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path postgres = bin.resolve("postgres");
        if (!Files.exists(postgres)) {
            Files.copy(sleep, postgres, StandardCopyOption.COPY_ATTRIBUTES);
        }
        Process process = new ProcessBuilder(postgres.toString(), "60").directory(cwd.toFile()).start();
        // The executable's path is readable once exec has happened.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!process.info().command().map(c -> c.endsWith("/postgres")).orElse(false)
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return process;
    }

    private static void writePostmasterPid(Path data, long pid) throws Exception {
        Files.writeString(data.resolve("postmaster.pid"), pid + "\n" + data + "\n1796306122\n5432\n/tmp\nlocalhost\n"
                + "  2155634     32797\nready   \n", StandardCharsets.US_ASCII);
    }
}
