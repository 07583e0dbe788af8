package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The change phase under {@code default_transaction_isolation = 'repeatable read'} on the database.
 * The sequence horizon's bound counts on the change query seeing every transaction that the probe
 * saw end; under repeatable read the query keeps the snapshot of the transaction's first statement,
 * from before those ends. Made deterministic with a lock on a partition the writer does not touch:
 * the reader's probe waits for it after its transaction's snapshot was taken, while the writer of
 * a smaller value commits.
 */
class ReadCommittedIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("read_committed");
        db.execute("ALTER DATABASE " + db.name() + " SET default_transaction_isolation = 'repeatable read'",
                "CREATE SEQUENCE seq",
                "CREATE TABLE events (id int PRIMARY KEY, seq bigint NOT NULL DEFAULT nextval('seq'))"
                        + " PARTITION BY RANGE (id)",
                "CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (MINVALUE) TO (100)",
                "CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (100) TO (MAXVALUE)",
                "CREATE INDEX events_seq ON events (seq, id)");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void aRowCommittedWhileTheProbeWaitsArrives() throws Exception {
        Map<String, String> props = db.connectorConfig("rc", "public\\.events");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.events:seq");
        props.put("poll.interval.ms", "20");
        List<SourceRecord> records = Collections.synchronizedList(new ArrayList<>());
        ExecutorService poller = Executors.newSingleThreadExecutor();
        AtomicBoolean polling = new AtomicBoolean(true);
        try (TaskHarness harness = new TaskHarness(props).start();
             Connection writer = db.connect(); Connection locker = db.connect(); Connection watcher = db.connect()) {
            writer.setAutoCommit(false);
            try (Statement st = writer.createStatement()) {
                st.execute("INSERT INTO events (id) VALUES (1)"); // takes seq 1, stays open
            }
            db.execute("INSERT INTO events (id) VALUES (2)"); // seq 2, committed
            // Probes while the writer is open: each holds it, so no bound passes seq 1 yet.
            long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < until) {
                List<SourceRecord> batch = harness.poll();
                if (batch != null) {
                    records.addAll(batch);
                }
            }
            assertEquals(List.of(), ids(records), "nothing may pass the open writer");

            locker.setAutoCommit(false);
            try (Statement st = locker.createStatement()) {
                st.execute("SET lock_timeout = '10s'");
                st.execute("LOCK TABLE events_high IN ACCESS EXCLUSIVE MODE");
            }
            Future<?> polls = poller.submit(() -> {
                while (polling.get()) {
                    List<SourceRecord> batch = harness.poll();
                    if (batch != null) {
                        records.addAll(batch);
                    }
                }
                return null;
            });
            awaitReaderWaitingForLock(watcher);
            writer.commit();     // seq 1 committed after the reader's transaction began
            locker.commit();     // the probe now runs and sees no open writer
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (System.nanoTime() < deadline && ids(records).size() < 2) {
                Thread.sleep(50);
            }
            Thread.sleep(500); // a little longer, so a late row would show
            polling.set(false);
            polls.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } finally {
            poller.shutdownNow();
        }
        assertEquals(expectedIds(), ids(records), "every committed row, by PostgreSQL's own list");
    }

    private void awaitReaderWaitingForLock(Connection watcher) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        try (Statement st = watcher.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = '"
                        + db.name() + "' AND wait_event_type = 'Lock' AND application_name LIKE 'kafka-connect%'")) {
                    rs.next();
                    if (rs.getLong(1) > 0) {
                        return;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the reader never waited for the table lock");
                }
                Thread.sleep(20);
            }
        }
    }

    private List<Integer> expectedIds() throws Exception {
        List<Integer> ids = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM events ORDER BY id")) {
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
        }
        return ids;
    }

    private static List<Integer> ids(List<SourceRecord> records) {
        synchronized (records) {
            return new ArrayList<>(new TreeSet<>(records.stream().map(r -> ((Struct) r.key()).getInt32("id")).toList()));
        }
    }
}
