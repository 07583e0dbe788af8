package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Any session of the database left idle in transaction (a psql left in BEGIN, a leaked pool
 * connection; it need not touch the captured table) holds every table's change phase for as long
 * as it stays open, which is by design; an adversarial review found the connector said nothing
 * (0 of 5 rows in 20 s, no log line naming the session). Now a WARN names the oldest open
 * transaction once it is older than the threshold (lowered to 3 s here through the test hook).
 * The oracle is the blocker's pid, usename and application_name, read from PostgreSQL; the
 * connector's log (slf4j-simple on System.err) is captured.
 */
class StalledChangesWarningIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_stall");
        db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())",
                "CREATE INDEX ON orders (updated_at, id)", "CREATE TABLE unrelated (x int)");
    }

    @AfterEach
    void tearDown() {
        OpenTransactions.stallWarningAfter(java.time.Duration.ofSeconds(60));
        db.close();
    }

    @Test
    void anIdleInTransactionSessionHoldingChangesIsNamedAtWarn() throws Exception {
        Map<String, String> props = db.connectorConfig("c", "public\\.orders");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        List<SourceRecord> records = new ArrayList<>();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream err = System.err;
        long blocker;
        String user;
        OpenTransactions.stallWarningAfter(Duration.ofSeconds(3));
        try (TaskHarness harness = new TaskHarness(props).start(); Connection idle = db.connect()) {
            idle.setAutoCommit(false);
            try (Statement st = idle.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT pg_backend_pid(), count(*), session_user FROM unrelated")) {
                rs.next();
                blocker = rs.getLong(1);
                user = rs.getString(3);
            }
            for (int i = 1; i <= 5; i++) {
                db.execute("INSERT INTO orders (id) VALUES (" + i + ")");
            }
            System.setErr(new PrintStream(new Tee(err, log), true));
            try {
                Polls.during(harness, records, Duration.ofSeconds(10));
            } finally {
                System.setErr(err);
            }
            idle.rollback();
        }
        String text = log.toString();
        List<String> warnings = text.lines().filter(l -> l.contains("WARN") && l.contains("pid " + blocker + " ")
                && l.contains("usename " + user) && l.contains("idle in transaction")
                && l.contains("idle_in_transaction_session_timeout")).toList();
        boolean named = !warnings.isEmpty();
        System.out.println("StalledChangesWarningIT: 5 rows committed, " + records.size() + " delivered in 10 s while pid "
                + blocker + " was idle in transaction; log lines in that time: " + text.lines().count()
                + "; warnings naming it: " + warnings.size());
        assertTrue(records.isEmpty(), "the open transaction holds the rows committed after it started");
        assertTrue(named, "a stalled change phase says which session holds it; log was:\n" + text);
        assertEquals(1, warnings.size(), "rate-limited: one warning a minute");
    }

    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
