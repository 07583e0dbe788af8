package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * A {@code timestamp} tracking column is compared in the writers' zone. Changing the database's
 * zone while the connector runs makes new writer sessions write wall-clock values hours below the
 * position (found by an adversarial review: rows 6-10 written in New York after the change were
 * never delivered, even after a restart). The position cannot be mapped into the new zone, so the
 * task now stops with a message saying why and how to recover, having delivered exactly the rows
 * written before the change and no later one silently.
 * Writers are sessions that take the database's default zone, as psql, psycopg or pgx do
 * (pgjdbc would send its JVM's zone, so the test sets the database's zone explicitly, as
 * WallClockZonesIT does).
 */
class DatabaseZoneChangeIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_zone_change");
        db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'UTC'",
                "CREATE TABLE ev (id bigint PRIMARY KEY, note text, updated_at timestamp NOT NULL DEFAULT now())",
                "CREATE INDEX ON ev (updated_at, id)");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private void insertAs(String zone, int from, int to) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("SET TimeZone = '" + zone + "'");
            for (int i = from; i <= to; i++) {
                st.execute("INSERT INTO ev (id, note) VALUES (" + i + ", '" + zone + "')");
            }
        }
    }

    private Set<Long> keys() throws Exception {
        Set<Long> keys = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM ev ORDER BY id")) {
            while (rs.next()) {
                keys.add(rs.getLong(1));
            }
        }
        return keys;
    }

    @Test
    void changingTheDatabasesZoneWhileRunningStopsTheTask() throws Exception {
        Map<String, String> props = db.connectorConfig("c", "public\\.ev");
        props.put("snapshot.mode", "never");
        props.put("incremental.column", "updated_at");
        props.put("poll.interval.ms", "50");
        List<SourceRecord> records = new ArrayList<>();
        Set<Long> beforeChange;
        Exception stopped;
        try (TaskHarness harness = new TaskHarness(props).start()) {
            insertAs("UTC", 1, 5);
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 5);
            beforeChange = keys();
            db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'America/New_York'");
            insertAs("America/New_York", 6, 10);
            stopped = assertThrows(Exception.class, () -> Polls.during(harness, records, Duration.ofSeconds(10)));
        }
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        String message = SubscriberTablesIT.messages(stopped);
        System.out.println("DatabaseZoneChangeIT: before the change the table had " + beforeChange + "; delivered "
                + delivered + "; table now " + keys() + "; task stopped: " + message);
        assertEquals(beforeChange, delivered, "the rows written before the change, all of them");
        assertTrue(message.contains("updated_at") && message.contains("America/New_York")
                && message.contains("offsets"), "says what changed and how to recover: " + message);
    }
}
