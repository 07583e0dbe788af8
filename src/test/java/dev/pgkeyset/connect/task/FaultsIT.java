package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/** Faults and surprises while a table is read: the server restarts, rows are larger than a batch. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultsIT {

    private static final int ROWS = 200_000;

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("faults");
        db.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, " + ROWS + ") g",
                "CREATE TABLE wide (id int PRIMARY KEY, body text NOT NULL)",
                "INSERT INTO wide SELECT g, repeat('w', CASE WHEN g = 3 THEN 200000 ELSE 10 END)"
                        + " FROM generate_series(1, 5) g");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private static int id(SourceRecord record) {
        return ((Struct) record.key()).getInt32("id");
    }

    /**
     * Restarts the server the tests run against: the embedded PostgreSQL of a run without PGHOST
     * through the fixture (pg_ctl restart on its own data directory), else the local Debian
     * cluster PGHOST names (pg_ctlcluster, as root on the CI machine). Elsewhere, e.g. with
     * Testcontainers, the test is reported as skipped, saying why.
     */
    private static void restartPostgres() throws IOException, InterruptedException {
        if (PostgresFixture.isEmbedded()) {
            PostgresFixture.restartEmbedded();
            return;
        }
        String host = PostgresFixture.server().host();
        boolean local = host.equals("127.0.0.1") || host.equals("localhost");
        boolean canRestart = local && Files.isExecutable(Path.of("/usr/bin/pg_ctlcluster"))
                && "root".equals(System.getProperty("user.name"));
        assumeTrue(canRestart, "restarting PostgreSQL needs a local Debian cluster and root (pg_ctlcluster)");
        Process list = new ProcessBuilder("pg_lsclusters", "-h").redirectErrorStream(true).start();
        java.util.Optional<String> found = new String(list.getInputStream().readAllBytes()).lines()
                .map(l -> l.trim().split("\\s+")).filter(f -> f.length > 2 && f[2].equals(
                        Integer.toString(PostgresFixture.server().port())))
                .map(f -> f[0] + "/" + f[1]).findFirst();
        // E.g. a PGHOST server on a port no Debian cluster of this machine has.
        assumeTrue(found.isPresent(), "restarting PostgreSQL needs the tests' server to be a Debian cluster of this "
                + "machine; none listens on port " + PostgresFixture.server().port() + " (pg_lsclusters)");
        String cluster = found.get();
        String[] versionAndName = cluster.split("/");
        Process restart = new ProcessBuilder("pg_ctlcluster", "--skip-systemctl-redirect", versionAndName[0],
                versionAndName[1], "restart").inheritIO().start();
        assertEquals(0, restart.waitFor(), "pg_ctlcluster restart");
    }

    /** pg_postmaster_start_time() in microseconds since the epoch. */
    private long postmasterStart() {
        return db.queryLong("SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint");
    }

    @Test
    void aServerRestartDuringTheSnapshotLosesNothing() throws Exception {
        Map<String, String> props = db.connectorConfig("f", "public\\.items");
        props.put("poll.interval.ms", "10");
        props.put("retry.backoff.ms", "200");
        props.put("batch.max.rows", "2000");
        // What PostgreSQL says, not the test's own flag: the postmaster started again.
        long startedBefore = postmasterStart();
        try (TaskHarness harness = new TaskHarness(props).start()) {
            int[] seen = new int[ROWS + 1];
            int distinct = 0;
            boolean restarted = false;
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (distinct < ROWS && System.nanoTime() < deadline) {
                List<SourceRecord> batch = harness.poll();
                if (batch == null) {
                    continue;
                }
                for (SourceRecord r : batch) {
                    if (seen[id(r)]++ == 0) {
                        distinct++;
                    }
                }
                if (!restarted && distinct >= ROWS / 3) {
                    restartPostgres();
                    restarted = true;
                }
            }
            assertTrue(restarted);
            assertTrue(postmasterStart() > startedBefore, "pg_postmaster_start_time() moved: the server restarted");
            assertEquals(ROWS, distinct, "every key arrived, the task never failed");
            for (int id = 1; id <= ROWS; id++) {
                assertEquals(1, seen[id], "row " + id + " once");
            }
        }
    }

    @Test
    void aRowLargerThanTheByteBoundGoesOutAlone() throws Exception {
        Map<String, String> props = db.connectorConfig("f", "public\\.wide");
        props.put("batch.max.bytes", "4096");
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<List<Integer>> batches = new ArrayList<>();
            List<SourceRecord> batch;
            while ((batch = harness.poll()) != null) {
                batches.add(batch.stream().map(FaultsIT::id).toList());
            }
            assertEquals(List.of(List.of(1, 2), List.of(3), List.of(4, 5)), batches,
                    "the 200 KB row leaves in a batch of its own; the others are not held back");
        }
    }
}
