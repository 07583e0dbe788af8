package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial: issue 12 case 11 (READ COMMITTED never set) with a deterministic gap. Under
 * {@code default_transaction_isolation = 'repeatable read'} the reader's transaction snapshot is
 * taken by the first statement of its transaction (the column lookup of followSchemaChange), not
 * by the horizon probe. A migration's {@code ALTER TABLE}/{@code LOCK} queued behind a long writer
 * makes the probe's parse wait for its lock; the writer commits meanwhile; the probe then sees the
 * writer gone in pg_stat_activity, releases the bound past the writer's sequence value, and the
 * change query reads with the old snapshot, in which the writer's row is not visible.
 */
class BreakRepeatableReadIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_rr");
        db.execute("CREATE SEQUENCE v_seq",
                "CREATE TABLE sv (id bigint PRIMARY KEY, note text, version bigint NOT NULL DEFAULT nextval('v_seq'))",
                "CREATE INDEX ON sv (version, id)",
                "INSERT INTO sv (id, note) VALUES (1000, 'seed')");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private Set<Long> keys() throws Exception {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM sv ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    private boolean waiting(String mode) {
        return db.queryLong("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'sv'::regclass AND mode = '"
                + mode + "'") > 0;
    }

    @Test
    void aSequenceRowCommittedWhileTheProbeWaitsForAMigrationsLockIsLost() throws Exception {
        db.execute("ALTER DATABASE " + db.name() + " SET default_transaction_isolation = 'repeatable read'");
        lateRowWhileProbeWaitsForLock();
    }

    /** Control: the same interleaving under the server's default, read committed, loses nothing. */
    @Test
    void underReadCommittedTheSameInterleavingHolds() throws Exception {
        db.execute("ALTER DATABASE " + db.name() + " SET default_transaction_isolation = 'read committed'");
        lateRowWhileProbeWaitsForLock();
    }

    private void lateRowWhileProbeWaitsForLock() throws Exception {
        Map<String, String> props = db.connectorConfig("c", "public\\.sv");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.sv:version");
        props.put("poll.interval.ms", "50");
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection longTx = db.connect();
             Connection migration = db.connect()) {
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 1);
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("INSERT INTO sv (id, note) VALUES (0, 'late')"); // takes the smallest new version
            }
            for (int i = 1; i <= 10; i++) {
                db.execute("INSERT INTO sv (id, note) VALUES (" + i + ", 'quick')");
                Polls.during(harness, records, Duration.ofMillis(60)); // probes that list the long transaction
            }
            // A migration queues for its ACCESS EXCLUSIVE lock behind the long transaction.
            migration.setAutoCommit(false);
            CompletableFuture<Void> ddl = CompletableFuture.runAsync(() -> {
                try (Statement st = migration.createStatement()) {
                    st.execute("ALTER TABLE sv ADD COLUMN extra int");
                    migration.commit();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            while (!waiting("AccessExclusiveLock")) {
                Thread.sleep(20);
            }
            // The long transaction commits once the reader's next probe queues behind the migration.
            CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                try {
                    while (!waiting("AccessShareLock")) {
                        Thread.sleep(20);
                    }
                    Thread.sleep(200);
                    longTx.commit();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Polls.during(harness, records, Duration.ofSeconds(3));
            commit.get(30, TimeUnit.SECONDS);
            ddl.get(30, TimeUnit.SECONDS);
            Set<Long> expected = keys();
            Polls.during(harness, records, Duration.ofSeconds(5));
            Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
            Set<Long> missing = new TreeSet<>(expected);
            missing.removeAll(delivered);
            System.out.println("BreakRepeatableReadIT: table has " + expected + "; delivered " + delivered
                    + "; missing " + missing);
            assertEquals(expected, delivered, "every committed row arrives");
        }
    }
}
