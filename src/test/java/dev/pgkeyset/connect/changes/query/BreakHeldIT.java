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
import java.util.stream.Collectors;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/** Adversarial attempts that held (kept as evidence): each late row must arrive. */
class BreakHeldIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_held");
        db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON orders (updated_at, id)", "INSERT INTO orders SELECT g, now() - interval '1 hour'"
                        + " FROM generate_series(1001, 1020) g");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private Map<String, String> props(String mode) {
        Map<String, String> props = db.connectorConfig("c", "public\\.orders");
        props.put("snapshot.mode", mode);
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        props.put("batch.max.rows", "3");
        return props;
    }

    private void check(List<SourceRecord> records, String what) throws Exception {
        Set<Long> expected = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM orders ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getLong(1));
            }
        }
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        Set<Long> missing = new TreeSet<>(expected);
        missing.removeAll(delivered);
        System.out.println("BreakHeldIT " + what + ": " + expected.size() + " rows, " + delivered.size()
                + " delivered, missing " + missing);
        assertEquals(expected, delivered, what);
    }

    private void quickRows(TaskHarness harness, List<SourceRecord> records) throws Exception {
        for (int i = 1; i <= 10; i++) {
            db.execute("INSERT INTO orders (id) VALUES (" + i + ")");
            Polls.during(harness, records, Duration.ofMillis(60));
        }
    }

    /** The long writer began (and wrote) before the connector started; snapshot hand-off in between. */
    @Test
    void aWriterThatBeganBeforeTheConnectorStarted() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (Connection longTx = db.connect()) {
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("INSERT INTO orders (id) VALUES (0)");
            }
            Thread.sleep(300);
            try (TaskHarness harness = new TaskHarness(props("initial")).start()) {
                quickRows(harness, records);
                Polls.during(harness, records, Duration.ofSeconds(1));
                longTx.commit();
                Polls.during(harness, records, Duration.ofSeconds(4));
            }
        }
        check(records, "writer began before start");
    }

    /** clock_timestamp() after a rolled-back savepoint, with a task restart while it is open. */
    @Test
    void clockTimestampAfterASavepointAndARestartWhileOpen() throws Exception {
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props("never")).start(); Connection longTx = db.connect()) {
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 20);
            longTx.setAutoCommit(false);
            try (Statement st = longTx.createStatement()) {
                st.execute("SAVEPOINT a");
                st.execute("INSERT INTO orders VALUES (0, clock_timestamp())");
                st.execute("ROLLBACK TO SAVEPOINT a");
                st.execute("SELECT pg_sleep(0.3)");
                st.execute("INSERT INTO orders VALUES (0, clock_timestamp())");
            }
            quickRows(harness, records);
            harness.stop();
            harness.start();
            quickRowsFrom(harness, records, 11);
            longTx.commit();
            Polls.during(harness, records, Duration.ofSeconds(4));
        }
        check(records, "clock_timestamp after savepoint, restart while open");
    }

    private void quickRowsFrom(TaskHarness harness, List<SourceRecord> records, int from) throws Exception {
        for (int i = from; i < from + 10; i++) {
            db.execute("INSERT INTO orders (id) VALUES (" + i + ")");
            Polls.during(harness, records, Duration.ofMillis(60));
        }
    }
}
