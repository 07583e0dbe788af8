package dev.pgkeyset.connect.changes.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TimeZone;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Daylight saving's fall-back on a {@code timestamp} (without time zone) tracking column: the wall
 * clock repeats an hour, so rows written in the second pass carry values the first pass already
 * went past. November cannot be waited for, so the horizon's clock is a table the test advances
 * (the one seam of {@link ClockHorizon}: where "now" comes from); everything else — the zone
 * rules, the bound's SQL, the change query — is PostgreSQL's and the connector's own. Writers
 * write what {@code now()} would in a session of the zone: the simulated instant at the zone's
 * wall clock. Replay a run with {@code -Dfallback.seed=<seed>}.
 */
class FallBackIT {

    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
    /** 2025-11-02 02:00 EDT = 06:00 UTC: New York's clocks go back to 01:00 EST. */
    private static final Instant FALL_BACK = Instant.parse("2025-11-02T06:00:00Z");

    private TestDatabase db;
    private TimeZone jvmZoneBefore;
    private final ColumnInfo tracking = new ColumnInfo("t", 1114, "timestamp without time zone", -1, true);
    private final ColumnInfo key = new ColumnInfo("id", 23, "integer", -1, true);

    @BeforeEach
    void setUp() {
        jvmZoneBefore = TimeZone.getDefault();
        // Same zone everywhere (JVM, database, writers): the loss comes from daylight saving alone.
        TimeZone.setDefault(TimeZone.getTimeZone(NEW_YORK));
        db = PostgresFixture.createDatabase("fall_back");
        db.execute("ALTER DATABASE " + db.name() + " SET timezone = 'America/New_York'",
                "CREATE TABLE fb (id int PRIMARY KEY, t timestamp NOT NULL)",
                "CREATE INDEX ON fb (t, id)",
                "CREATE TABLE fake_clock (at timestamptz NOT NULL)",
                "INSERT INTO fake_clock VALUES ('2025-11-02 04:00:00+00')");
    }

    @AfterEach
    void tearDown() {
        TimeZone.setDefault(jvmZoneBefore);
        db.close();
    }

    @Test
    void noRowOfTheRepeatedHourIsLost() throws Exception {
        long seed = Long.getLong("fallback.seed", System.nanoTime());
        Random random = new Random(seed);
        ClockHorizon horizon = new ClockHorizon(tracking, "(SELECT at FROM fake_clock)");
        List<Integer> delivered = new ArrayList<>();
        Object[] position = null;
        int id = 0;
        Instant now = Instant.parse("2025-11-02T04:00:00Z");
        try (Connection writer = db.connect(); Connection reader = db.connect()) {
            reader.setAutoCommit(false);
            try (Statement st = writer.createStatement()) {
                st.execute("SET TimeZone = 'America/New_York'");
            }
            while (now.isBefore(Instant.parse("2025-11-02T08:00:00Z"))) {
                now = now.plusSeconds(10 + random.nextInt(80));
                setClock(writer, now);
                try (Statement st = writer.createStatement()) {
                    // What DEFAULT now() writes into a timestamp column in a New York session.
                    st.execute("INSERT INTO fb SELECT " + (++id) + ", at::timestamp FROM fake_clock");
                }
                if (random.nextInt(10) < 7) {
                    position = readChanges(reader, horizon, position, delivered);
                }
            }
            setClock(writer, now.plus(Duration.ofHours(1)));
            position = readChanges(reader, horizon, position, delivered);
            readChanges(reader, horizon, position, delivered);
        }
        TreeSet<Integer> expected = new TreeSet<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM fb ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getInt(1));
            }
        }
        long repeated = db.queryLong("SELECT count(*) FROM fb WHERE t >= '2025-11-02 01:00' AND t < '2025-11-02 02:00'");
        System.out.printf("fall-back (seed %d): %d rows written (%d in the repeated hour), %d delivered, %d distinct%n",
                seed, expected.size(), repeated, delivered.size(), new TreeSet<>(delivered).size());
        assertEquals(expected, new TreeSet<>(delivered), "every row, the repeated hour's included (seed " + seed + ")");
        assertEquals(expected.size(), delivered.size(), "each row once (seed " + seed + ")");
    }

    private static void setClock(Connection writer, Instant at) throws Exception {
        try (PreparedStatement st = writer.prepareStatement("UPDATE fake_clock SET at = ?::timestamptz")) {
            st.setString(1, at.toString());
            st.executeUpdate();
        }
    }

    /** One change query the way the reader runs it: a fresh transaction, the horizon first. */
    private Object[] readChanges(Connection reader, ClockHorizon horizon, Object[] position, List<Integer> into)
            throws Exception {
        ChangeHorizon.Bound bound = horizon.current(reader);
        if (bound == null || bound.value() == null) {
            reader.commit();
            return position;
        }
        KeysetQuery query = KeysetQuery.changes(new TableId("public", "fb"), true, List.of("\"id\"", "\"t\""),
                tracking, List.of(key), position == null ? List.of() : List.of(position), null, bound.value(),
                bound.inclusive());
        try (PreparedStatement st = reader.prepareStatement(query.sql())) {
            query.bind(st);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    into.add(rs.getInt(1));
                    position = new Object[] {rs.getString(2), rs.getInt(1)};
                }
            }
        }
        reader.commit();
        return position;
    }

    /**
     * The bound against an oracle the SQL does not share: Java's zone rules give the smallest wall
     * clock value any later instant can still write (the wall clock just after each fall-back);
     * the bound must never exceed it (else a later row lands behind the position) and should not
     * trail it by more than a minute (else changes wait for nothing).
     */
    @Test
    void theBoundNeverExceedsAWallClockValueStillToComeInZonesWithAndWithoutDaylightSaving() throws Exception {
        long seed = Long.getLong("fallback.seed", System.nanoTime());
        Random random = new Random(seed);
        String[] zones = {"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Antarctica/Troll",
            "America/Sao_Paulo", "Asia/Tokyo", "UTC"};
        int checked = 0;
        try (Connection reader = db.connect()) {
            reader.setAutoCommit(false);
            for (String zoneName : zones) {
                db.execute("ALTER DATABASE " + db.name() + " SET timezone = '" + zoneName + "'");
                ZoneRules rules = ZoneId.of(zoneName).getRules();
                List<Instant> samples = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    samples.add(Instant.parse("2019-01-01T00:00:00Z").plusSeconds(random.nextInt(6 * 365 * 86400)));
                }
                ZoneOffsetTransition t = rules.nextTransition(Instant.parse("2019-01-01T00:00:00Z"));
                for (int n = 0; t != null && n < 6; n++, t = rules.nextTransition(t.getInstant())) {
                    for (int k = 0; k < 6; k++) {
                        samples.add(t.getInstant().minusSeconds(random.nextInt(3 * 3600)));
                        samples.add(t.getInstant().plusSeconds(random.nextInt(1800)));
                    }
                }
                ZoneId zone = ZoneId.of(zoneName);
                for (Instant at : samples) {
                    ClockHorizon horizon = new ClockHorizon(tracking,
                            "'" + at.toString() + "'::timestamptz");
                    String bound = horizon.current(reader).value();
                    reader.commit();
                    LocalDateTime got = LocalDateTime.parse(bound.replace(' ', 'T'));
                    LocalDateTime lowest = lowestWallClockFrom(rules, zone, at.minusMillis(100));
                    assertTrue(!got.isAfter(lowest), zoneName + " at " + at + ": bound " + got
                            + " is after " + lowest + ", a wall clock value still to be written (seed " + seed + ")");
                    assertTrue(!got.isBefore(lowest.minusMinutes(1).minusSeconds(1)), zoneName + " at " + at
                            + ": bound " + got + " trails " + lowest + " by more than a minute (seed " + seed + ")");
                    checked++;
                }
            }
        }
        System.out.println("bound checked at " + checked + " instants (seed " + seed + ")");
    }

    /** The smallest wall clock value of any instant from {@code from} on, by Java's rules. */
    private static LocalDateTime lowestWallClockFrom(ZoneRules rules, ZoneId zone, Instant from) {
        LocalDateTime lowest = LocalDateTime.ofInstant(from, zone);
        ZoneOffsetTransition t = rules.nextTransition(from);
        for (int n = 0; t != null && n < 4; n++, t = rules.nextTransition(t.getInstant())) {
            if (t.isOverlap() && t.getDateTimeAfter().isBefore(lowest)) {
                lowest = t.getDateTimeAfter();
            }
        }
        return lowest;
    }
}
