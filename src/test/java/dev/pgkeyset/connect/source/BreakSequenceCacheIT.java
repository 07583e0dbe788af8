package dev.pgkeyset.connect.source;

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

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.Polls;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial: the README says the sequence horizon assumes CACHE 1, but nothing checks it. With
 * CACHE 10 (or an identity column with a cache) session A holds a block of values; its next
 * transaction, started after the position passed session B's larger value, commits below it.
 */
class BreakSequenceCacheIT {

    private TestDatabase db;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("break_seq_cache");
        db.execute("CREATE SEQUENCE v_seq CACHE 10",
                "CREATE TABLE sv (id bigint PRIMARY KEY, version bigint NOT NULL DEFAULT nextval('v_seq'))",
                "CREATE INDEX ON sv (version, id)");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void aCachedSequenceIsAcceptedAndASessionsNextCachedValueIsLost() throws Exception {
        Map<String, String> props = db.connectorConfig("c", "public\\.sv");
        props.put("snapshot.mode", "never");
        props.put("incremental.columns", "public.sv:version");
        props.put("poll.interval.ms", "50");
        List<String> errors = new PgKeysetSourceConnector().validate(props).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).toList();
        List<SourceRecord> records = new ArrayList<>();
        try (TaskHarness harness = new TaskHarness(props).start(); Connection a = db.connect();
             Connection b = db.connect(); Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            sa.execute("INSERT INTO sv (id) VALUES (1)"); // A caches 1..10
            sb.execute("INSERT INTO sv (id) VALUES (2)"); // B caches 11..20
            Polls.until(harness, records, Duration.ofSeconds(30), () -> records.size() >= 2);
            sa.execute("INSERT INTO sv (id) VALUES (3)"); // version 2, below the position
            Polls.during(harness, records, Duration.ofSeconds(3));
        }
        Set<Long> expected = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM sv ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getLong(1));
            }
        }
        Set<Long> delivered = records.stream().map(Polls::id).collect(Collectors.toCollection(TreeSet::new));
        System.out.println("BreakSequenceCacheIT: validate errors " + errors + "; table has " + expected
                + "; delivered " + delivered);
        assertEquals(expected, delivered, "every committed row arrives, or validate() refuses the cached sequence");
    }
}
