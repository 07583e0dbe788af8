package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TimeZone;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.DefaultLocale;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RestartingReader;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Random keys of every type the connector reads by, alone and in composite keys with ties in the
 * leading column, read to the end with restarts at random points, random batch.max.rows and
 * fetch.size, sometimes cursor.max.age.ms at its minimum with pauses past it, under a random JVM
 * locale and time zone. The delivered rows must be PostgreSQL's own list, each once, in the order
 * of {@code ORDER BY} over the typed key columns; a key column holding a NULL must stop the task.
 *
 * <p>Every row carries {@code rid}, outside the key, so the comparison needs no conversion of key
 * values. The seed is printed; replay a run with {@code -Dseed=<seed>}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RandomizedResumeIT {

    private static final int TABLES = 24;

    private TestDatabase db;
    private boolean citext;

    /** A key column type and a random literal of it; {@code narrow} draws from a few values (ties). */
    private record KeyType(String sqlType, BiValue value) {
    }

    @FunctionalInterface
    private interface BiValue {
        String literal(Random random, boolean narrow);
    }

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("randomized_resume");
        db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'zzz', 'aaa')");
        try {
            db.execute("CREATE EXTENSION IF NOT EXISTS citext");
            citext = true;
        } catch (IllegalStateException e) {
            System.out.println("RandomizedResumeIT: no citext extension here, citext keys left out: " + e.getMessage());
        }
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    private static String quote(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    private static String pick(Random random, String... values) {
        return values[random.nextInt(values.length)];
    }

    private static final String LETTERS = "aAäÄbB zZ-1é_";

    private static String word(Random random, boolean narrow) {
        int length = narrow ? 1 : random.nextInt(5);
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < length; i++) {
            word.append(LETTERS.charAt(random.nextInt(narrow ? 4 : LETTERS.length())));
        }
        return word.toString();
    }

    private static String micros(Random random) {
        return String.format(Locale.ROOT, "%06d", random.nextInt(3) == 0 ? random.nextInt(3) : random.nextInt(1_000_000));
    }

    private static String date(Random random, boolean narrow) {
        if (narrow) {
            return pick(random, "2024-01-01", "1999-12-31", "infinity");
        }
        return switch (random.nextInt(12)) {
            case 0 -> "infinity";
            case 1 -> "-infinity";
            case 2 -> String.format(Locale.ROOT, "%04d-%02d-%02d BC", 1 + random.nextInt(4000), 1 + random.nextInt(12),
                    1 + random.nextInt(28));
            default -> String.format(Locale.ROOT, "%04d-%02d-%02d", 1900 + random.nextInt(200), 1 + random.nextInt(12),
                    1 + random.nextInt(28));
        };
    }

    private static String time(Random random, boolean narrow) {
        if (narrow) {
            return pick(random, "00:00:00", "12:00:00", "24:00:00");
        }
        return random.nextInt(20) == 0 ? "24:00:00" : String.format(Locale.ROOT, "%02d:%02d:%02d.%s",
                random.nextInt(24), random.nextInt(60), random.nextInt(60), micros(random));
    }

    private static String timestamp(Random random, boolean narrow) {
        String day = date(random, narrow);
        if (day.endsWith("infinity")) {
            return day;
        }
        String clock = narrow ? "10:00:00" : time(random, false).replace("24:00:00", "23:59:59.999999");
        return day.endsWith(" BC") ? day.replace(" BC", " " + clock + " BC") : day + " " + clock;
    }

    private static String offset(Random random) {
        return pick(random, "+00", "+05:30", "-08", "+14", "-03:30", "+01");
    }

    private List<KeyType> keyTypes() {
        List<KeyType> types = new ArrayList<>(List.of(
                new KeyType("smallint", (r, n) -> Integer.toString(n ? r.nextInt(3) : r.nextInt(65536) - 32768)),
                new KeyType("integer", (r, n) -> n ? Integer.toString(r.nextInt(3) - 1) : r.nextInt(10) == 0
                        ? pick(r, Integer.MIN_VALUE, Integer.MAX_VALUE) : Integer.toString(r.nextInt(2000) - 1000)),
                new KeyType("bigint", (r, n) -> n ? Integer.toString(r.nextInt(3)) : r.nextInt(10) == 0
                        ? pick(r, Long.MIN_VALUE, Long.MAX_VALUE) : Long.toString(r.nextLong() % 1_000_000_000_000L)),
                new KeyType("numeric", (r, n) -> n ? pick(r, "1", "2.5", "10")
                        : pick(r, "", "-") + r.nextInt(200) + pick(r, "", ".5", ".05", ".0000000000000000001",
                                "." + r.nextInt(1000))),
                new KeyType("numeric(12,3)", (r, n) -> n ? pick(r, "-1", "9.999")
                        : (r.nextInt(2_000_000) - 1_000_000) + "." + r.nextInt(1000)),
                new KeyType("text COLLATE \"de-x-icu\"", (r, n) -> quote(word(r, n))),
                new KeyType("text COLLATE \"C\"", (r, n) -> quote(word(r, n))),
                new KeyType("varchar(8)", (r, n) -> quote(word(r, n))),
                new KeyType("uuid", (r, n) -> quote(n ? pick(r, "00000000-0000-0000-0000-000000000001",
                        "ffffffff-0000-0000-0000-000000000000") : new java.util.UUID(r.nextLong(), r.nextLong()).toString())),
                new KeyType("date", (r, n) -> quote(date(r, n))),
                new KeyType("timestamp", (r, n) -> quote(timestamp(r, n))),
                new KeyType("timestamptz", (r, n) -> {
                    String stamp = timestamp(r, n);
                    if (stamp.endsWith("infinity")) {
                        return quote(stamp);
                    }
                    return quote(stamp.endsWith(" BC") ? stamp.replace(" BC", offset(r) + " BC") : stamp + offset(r));
                }),
                new KeyType("mood", (r, n) -> quote(n ? pick(r, "ok", "zzz") : pick(r, "sad", "ok", "happy", "zzz", "aaa"))),
                new KeyType("boolean", (r, n) -> pick(r, "true", "false")),
                new KeyType("bytea", (r, n) -> {
                    StringBuilder hex = new StringBuilder("\\x");
                    for (int i = 0, length = n ? 1 : r.nextInt(4); i < length; i++) {
                        hex.append(String.format(Locale.ROOT, "%02x", n ? r.nextInt(2) * 255 : r.nextInt(256)));
                    }
                    return quote(hex.toString());
                }),
                new KeyType("interval", (r, n) -> quote(n ? pick(r, "1 day", "-1 hour", "1 mon")
                        : (r.nextInt(25) - 12) + " mons " + (r.nextInt(61) - 30) + " days " + (r.nextInt(49) - 24)
                                + " hours " + r.nextInt(1_000_000) + " microseconds")),
                new KeyType("money", (r, n) -> quote(n ? pick(r, "1.00", "-2.50")
                        : (r.nextInt(2_000_000) - 1_000_000) / 100.0 + "")),
                new KeyType("time", (r, n) -> quote(time(r, n))),
                new KeyType("time(3)", (r, n) -> quote(n ? "10:00:00" : String.format(Locale.ROOT, "%02d:%02d:%02d.%03d",
                        r.nextInt(24), r.nextInt(60), r.nextInt(60), r.nextInt(1000)))),
                new KeyType("timetz", (r, n) -> quote(time(r, n) + offset(r))),
                new KeyType("bit(6)", (r, n) -> "B" + quote(bits(r, n ? 1 : 6, n).concat("000000").substring(0, 6))),
                new KeyType("varbit(10)", (r, n) -> "B" + quote(bits(r, n ? 1 : r.nextInt(11), n)))));
        if (citext) {
            types.add(new KeyType("citext", (r, n) -> quote(word(r, n))));
        }
        return types;
    }

    private static String pick(Random random, long... values) {
        return Long.toString(values[random.nextInt(values.length)]);
    }

    private static String pick(Random random, int... values) {
        return Integer.toString(values[random.nextInt(values.length)]);
    }

    private static String bits(Random random, int length, boolean narrow) {
        StringBuilder bits = new StringBuilder();
        for (int i = 0; i < length; i++) {
            bits.append(narrow ? '1' : random.nextBoolean() ? '1' : '0');
        }
        return bits.toString();
    }

    /** One table's shape and reading, all drawn from the seed. */
    private record Round(String table, List<KeyType> key, int rows, boolean nullBearing, int batchRows, int fetchSize,
                         double restartChance, boolean agingCursors, Locale locale, String zone) {
        String describe() {
            return table + " key (" + key.stream().map(KeyType::sqlType).collect(Collectors.joining(", ")) + "), "
                    + rows + " rows" + (nullBearing ? " with a NULL key" : "") + ", batch.max.rows=" + batchRows
                    + ", fetch.size=" + fetchSize + ", restart chance " + String.format(Locale.ROOT, "%.2f", restartChance)
                    + (agingCursors ? ", cursor.max.age.ms=1000" : "") + ", locale " + locale.toLanguageTag() + ", zone "
                    + zone;
        }
    }

    @Test
    void everyKeyTypeResumesAnywhereWithoutLossOrRepeat() throws Exception {
        long seed = Long.getLong("seed", new Random().nextLong());
        System.out.println("RandomizedResumeIT seed=" + seed + " (replay with -Dseed=" + seed + ")");
        Random random = new Random(seed);
        List<KeyType> types = keyTypes();
        List<Locale> locales = new ArrayList<>(DefaultLocale.HOSTILE);
        locales.add(Locale.ROOT);
        String[] zones = {"UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe"};
        long start = System.nanoTime();
        for (int i = 0; i < TABLES; i++) {
            // The first tables cover every type alone; the others mix two or three, ties up front.
            List<KeyType> key = new ArrayList<>();
            if (i < types.size() && i < TABLES / 2) {
                key.add(types.get(i));
            } else {
                for (int c = 0, columns = 2 + random.nextInt(2); c < columns; c++) {
                    key.add(types.get(random.nextInt(types.size())));
                }
            }
            Round round = new Round("t" + i, key, 20 + random.nextInt(180), random.nextInt(6) == 0,
                    1 + random.nextInt(random.nextBoolean() ? 8 : 60), 1 + random.nextInt(random.nextBoolean() ? 5 : 100),
                    0.05 + random.nextDouble() * 0.45, random.nextInt(6) == 0, locales.get(random.nextInt(locales.size())),
                    zones[random.nextInt(zones.length)]);
            run(round, random, seed);
        }
        // Types beyond the first half of the tables are covered by the composite keys above; make
        // sure each appears once alone too, cheaply.
        for (int i = TABLES / 2; i < types.size(); i++) {
            run(new Round("s" + i, List.of(types.get(i)), 20 + random.nextInt(60), false, 1 + random.nextInt(10),
                    1 + random.nextInt(10), 0.3, false, Locale.ROOT, "UTC"), random, seed);
        }
        System.out.printf(Locale.ROOT, "RandomizedResumeIT seed=%d: %d tables in %.1f s%n", seed,
                TABLES + Math.max(0, types.size() - TABLES / 2), (System.nanoTime() - start) / 1e9);
    }

    private void run(Round round, Random random, long seed) throws Exception {
        String what = round.describe() + " [seed " + seed + "]";
        System.out.println("RandomizedResumeIT: " + what);
        List<String> columns = IntStream.range(0, round.key().size()).mapToObj(c -> "c" + c).toList();
        String keyList = String.join(", ", columns);
        db.execute("CREATE TABLE " + round.table() + " (" + IntStream.range(0, columns.size())
                .mapToObj(c -> columns.get(c) + " " + round.key().get(c).sqlType()).collect(Collectors.joining(", "))
                + ", rid int NOT NULL, " + (round.nullBearing() ? "UNIQUE" : "PRIMARY KEY") + " (" + keyList + "))");
        insertRows(round, columns, random);
        Map<String, String> props = db.connectorConfig("r", "public\\." + round.table());
        props.put("batch.max.rows", Integer.toString(round.batchRows()));
        props.put("fetch.size", Integer.toString(round.fetchSize()));
        props.put("poll.interval.ms", "10");
        if (round.nullBearing()) {
            props.put("key.columns", "public." + round.table() + ":" + String.join("|", columns));
        }
        if (round.agingCursors()) {
            props.put("cursor.max.age.ms", "1000");
        }
        Random reading = new Random(random.nextLong());
        Set<Integer> pausedPolls = new HashSet<>();
        if (round.agingCursors()) {
            for (int p = 0; p < 3; p++) {
                pausedPolls.add(1 + reading.nextInt(Math.max(1, round.rows() / round.batchRows())));
            }
        }
        int[] restarts = {0};
        Function<Map<String, String>, List<SourceRecord>> read = p -> {
            try {
                return RestartingReader.readAll(p, poll -> restarts[0] < 25 && reading.nextDouble() < round.restartChance()
                        && ++restarts[0] > 0, poll -> pausedPolls.contains(poll) ? 1050 : 0);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
        TimeZone savedZone = TimeZone.getDefault();
        try {
            TimeZone.setDefault(TimeZone.getTimeZone(round.zone()));
            DefaultLocale.under(round.locale(), () -> {
                if (round.nullBearing()) {
                    ConnectException e = assertThrows(ConnectException.class, () -> read.apply(props), what);
                    assertTrue(e.getMessage().contains("public." + round.table()) && e.getMessage().contains("NULL"),
                            what + ": " + e.getMessage());
                    return;
                }
                List<Object> delivered = RestartingReader.valueField(read.apply(props), "rid");
                List<Object> expected = expectedRids(round.table(), keyList);
                assertEquals(expected.size(), delivered.size(), what + ": rows delivered");
                assertEquals(expected, delivered, what + ": every row once, in PostgreSQL's order of the typed key");
            });
        } finally {
            TimeZone.setDefault(savedZone);
        }
        db.execute("DROP TABLE " + round.table());
    }

    private void insertRows(Round round, List<String> columns, Random random) {
        StringBuilder values = new StringBuilder();
        for (int r = 0; r < round.rows(); r++) {
            values.append(r == 0 ? "" : ", ").append('(');
            for (int c = 0; c < columns.size(); c++) {
                // Ties: the leading column of a composite key draws from a few values.
                boolean narrow = c == 0 && columns.size() > 1 && random.nextInt(4) != 0;
                values.append(round.key().get(c).value().literal(random, narrow)).append(", ");
            }
            values.append(r + 1).append(')');
        }
        db.execute("INSERT INTO " + round.table() + " VALUES " + values + " ON CONFLICT DO NOTHING");
        if (round.nullBearing()) {
            int nullColumn = random.nextInt(columns.size());
            StringBuilder row = new StringBuilder("(");
            for (int c = 0; c < columns.size(); c++) {
                row.append(c == nullColumn ? "NULL" : round.key().get(c).value().literal(random, false)).append(", ");
            }
            db.execute("INSERT INTO " + round.table() + " VALUES " + row + (round.rows() + 1) + ")");
        }
    }

    private List<Object> expectedRids(String table, String keyList) {
        List<Object> rids = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rid FROM " + table + " ORDER BY " + keyList)) {
            while (rs.next()) {
                rids.add(rs.getInt(1));
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return rids;
    }
}
