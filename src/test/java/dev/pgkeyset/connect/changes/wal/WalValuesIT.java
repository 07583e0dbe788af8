package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Adversarial checks of capture.mode=wal values, one task run through {@link TaskHarness}: the
 * snapshot's record of a row and the WAL's record of the same row (or of a copy) must be equal,
 * and both must hold what PostgreSQL computes for the row in an ordinary session.
 */
class WalValuesIT {

    private static final long TIMEOUT_MS = 60_000;

    private static String op(SourceRecord record) {
        Header header = record.headers().lastWithName(TablePlan.OP_HEADER);
        return header == null ? null : String.valueOf(header.value());
    }

    /** Polls until {@code done} holds for the records collected so far. */
    static List<SourceRecord> pollUntil(TaskHarness task, List<SourceRecord> into, Predicate<List<SourceRecord>> done)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (!done.test(into)) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out; records so far: " + into);
            }
            List<SourceRecord> batch = task.poll();
            if (batch != null) {
                into.addAll(batch);
            }
        }
        return into;
    }

    static long count(List<SourceRecord> records, String op) {
        return records.stream().filter(r -> op.equals(op(r))).count();
    }

    static Map<String, String> walProps(TestDatabase db, String include, String name) {
        Map<String, String> config = new HashMap<>(db.connectorConfig("adv", include));
        config.put("capture.mode", "wal");
        config.put("snapshot.mode", "initial");
        config.put("slot.name", name);
        config.put("publication.name", name);
        config.put("tasks.max", "1");
        return config;
    }

    static String uniqueName(String purpose) {
        return ("adv_b_" + purpose + "_" + Long.toHexString(System.nanoTime() & 0xffffffL)).toLowerCase();
    }

    /**
     * A database whose lc_monetary has 0 fraction digits (ja_JP): the snapshot reads money as
     * numeric in that locale (1234 yen is 1234), the WAL as money_out's text under the replication
     * session's pinned lc_monetary=C ($12.34 for the same stored amount). Before the fix the WAL
     * records arrived 100 times smaller than PostgreSQL's v::numeric (1234 as 12.34); now
     * validate() refuses the table, naming it, the column and the remedy.
     */
    @Test
    void moneyInADatabaseWhoseLcMonetaryHasNoFractionDigitsIsRefusedInWalMode() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_money_ja");
        String name = uniqueName("money");
        try {
            db.execute("ALTER DATABASE " + db.name() + " SET lc_monetary = 'ja_JP.utf8'");
            db.execute("CREATE TABLE m (id int PRIMARY KEY, v money, av money[])");
            assertEquals(0, db.queryLong("SELECT pg_catalog.scale('1'::money::numeric)"), "ja_JP money has no fraction");
            List<String> errors = new ArrayList<>();
            new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(walProps(db, "public\\.m", name)).configValues()
                    .forEach(v -> v.errorMessages().forEach(e -> errors.add(v.name() + ": " + e)));
            assertTrue(errors.stream().anyMatch(e -> e.contains("public.m") && e.contains("money column v")
                    && e.contains("capture.mode=query")), "errors: " + errors);
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * A database under de_DE (2 fraction digits, '12.345,67 €'): the WAL's money equals
     * PostgreSQL's v::numeric of the row, as the snapshot's does (held before the fix too).
     */
    @Test
    void moneyInADatabaseUnderAGermanLcMonetaryIsTheSameFromTheWal() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_money_de");
        String name = uniqueName("money");
        try {
            db.execute("ALTER DATABASE " + db.name() + " SET lc_monetary = 'de_DE.utf8'");
            db.execute("CREATE TABLE m (id int PRIMARY KEY, v money, av money[])",
                    "INSERT INTO m VALUES (1, '1234,56', '{\"1234,5\",\"-0,05\"}'), (2, '-1.234.567,89', NULL),"
                            + " (3, '0', '{}')");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.m", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 3);
                db.execute("INSERT INTO m SELECT id + 100, v, av FROM m");
                pollUntil(task, records, r -> count(r, "c") == 3);
                assertEqualsPostgres(db, records, "SELECT id, v::numeric::text, av::numeric[]::text FROM m ORDER BY id");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /** Each record's v (Decimal) and av (array of Decimal) against PostgreSQL's numeric text of the row. */
    private static void assertEqualsPostgres(TestDatabase db, List<SourceRecord> records, String sql) throws Exception {
        Map<Integer, String[]> expected = new HashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                expected.put(rs.getInt(1), new String[] {rs.getString(2), rs.getString(3)});
            }
        }
        List<String> mismatches = new ArrayList<>();
        for (SourceRecord record : records) {
            Struct value = (Struct) record.value();
            int id = value.getInt32("id");
            String[] want = expected.get(id);
            BigDecimal v = (BigDecimal) value.get("v");
            String got = v == null ? null : v.stripTrailingZeros().toPlainString();
            String exp = want[0] == null ? null : new BigDecimal(want[0]).stripTrailingZeros().toPlainString();
            if (!java.util.Objects.equals(exp, got)) {
                mismatches.add(op(record) + " row " + id + ": v expected " + exp + " (PostgreSQL) but was " + got);
            }
            List<?> av = (List<?>) value.get("av");
            String gotArray = av == null ? null : av.stream()
                    .map(e -> e == null ? "NULL" : ((BigDecimal) e).stripTrailingZeros().toPlainString())
                    .collect(java.util.stream.Collectors.joining(",", "{", "}"));
            String expArray = want[1] == null ? null : want[1].equals("{}") ? "{}" : java.util.Arrays
                    .stream(want[1].substring(1, want[1].length() - 1).split(","))
                    .map(e -> e.equals("NULL") ? e : new BigDecimal(e).stripTrailingZeros().toPlainString())
                    .collect(java.util.stream.Collectors.joining(",", "{", "}"));
            if (!java.util.Objects.equals(expArray, gotArray)) {
                mismatches.add(op(record) + " row " + id + ": av expected " + expArray + " (PostgreSQL) but was "
                        + gotArray);
            }
        }
        assertTrue(mismatches.isEmpty(), mismatches.size() + " mismatches:\n" + String.join("\n", mismatches));
        assertEquals(expected.size(), records.size());
    }

    /**
     * A LATIN1 database: pgoutput writes text in the server's encoding unless the walsender
     * converts it. Non-ASCII text, an enum label and a column name must arrive from the WAL as
     * from the snapshot, and as PostgreSQL gives them to a UTF8 client.
     */
    @Test
    void aLatin1DatabaseStreamsTheSameTextAsItsSnapshot() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_latin1",
                "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        String name = uniqueName("latin1");
        try {
            db.execute("CREATE TYPE farbe AS ENUM ('grün', 'weiß')",
                    "CREATE TABLE \"läden\" (id int PRIMARY KEY, \"größe\" text, f farbe, c char(5), a text[])",
                    "INSERT INTO \"läden\" VALUES (1, 'Grüße ½ ÿ ©', 'weiß', 'äö', '{\"ü,ß\",NULL,\"é\"}')");
            try (TaskHarness task = new TaskHarness(walProps(db, "public\\.läden", name)).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 1);
                db.execute("INSERT INTO \"läden\" SELECT id + 100, \"größe\", f, c, a FROM \"läden\"");
                pollUntil(task, records, r -> count(r, "c") == 1);
                Struct snapshot = (Struct) records.get(0).value();
                Struct wal = (Struct) records.get(1).value();
                List<String> mismatches = new ArrayList<>();
                try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                        "SELECT \"größe\", f::text, c::text, a::text FROM \"läden\" WHERE id = 1")) {
                    rs.next();
                    String[] fields = {"größe", "f", "c"};
                    for (int i = 0; i < fields.length; i++) {
                        String expected = rs.getString(i + 1);
                        for (Struct s : List.of(snapshot, wal)) {
                            Object got = s.schema().field(fields[i]) == null ? "(no field)" : s.get(fields[i]);
                            String gotText = String.valueOf(got).strip();
                            if (!expected.strip().equals(gotText)) {
                                mismatches.add((s == wal ? "WAL" : "snapshot") + " " + fields[i] + ": " + got
                                        + ", PostgreSQL " + expected);
                            }
                        }
                    }
                    if (!java.util.Objects.equals(snapshot.get("a"), wal.get("a"))) {
                        mismatches.add("a: snapshot " + snapshot.get("a") + ", WAL " + wal.get("a") + ", PostgreSQL "
                                + rs.getString(4));
                    }
                }
                assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }

    /**
     * money inside a composite travels as the composite's text, which money_out writes in the
     * session's lc_monetary: the snapshot's session has the database's (de_DE: "12,34 €"), the
     * replication session pins C ("$12.34"). The WAL's record must hold PostgreSQL's text of the
     * value as the snapshot does, or the table must be refused naming the column.
     */
    @Test
    void moneyInsideACompositeUnderAGermanLcMonetaryIsTheSameFromTheWalOrRefused() throws Exception {
        TestDatabase db = PostgresFixture.createDatabase("adv_b_money_comp");
        String name = uniqueName("moneycomp");
        try {
            db.execute("ALTER DATABASE " + db.name() + " SET lc_monetary = 'de_DE.utf8'");
            db.execute("CREATE TYPE priced AS (amount money, note text)",
                    "CREATE TABLE p (id int PRIMARY KEY, c priced)",
                    "INSERT INTO p VALUES (1, ROW('1234,56', 'x'))");
            Map<String, String> props = walProps(db, "public\\.p", name);
            List<String> errors = new ArrayList<>();
            new dev.pgkeyset.connect.PgKeysetSourceConnector().validate(props).configValues()
                    .forEach(v -> v.errorMessages().forEach(e -> errors.add(v.name() + ": " + e)));
            if (!errors.isEmpty()) {
                assertTrue(errors.stream().anyMatch(e -> e.contains("public.p") && e.contains("column c")),
                        "errors: " + errors);
                return;
            }
            try (TaskHarness task = new TaskHarness(props).start()) {
                List<SourceRecord> records = pollUntil(task, new ArrayList<>(), r -> count(r, "r") == 1);
                db.execute("INSERT INTO p SELECT id + 100, c FROM p");
                pollUntil(task, records, r -> count(r, "c") == 1);
                String expected;
                try (Connection c = db.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT c::text FROM p WHERE id = 101")) {
                    rs.next();
                    expected = rs.getString(1);
                }
                List<String> got = records.stream().map(r -> String.valueOf(((Struct) r.value()).get("c"))).toList();
                assertEquals(List.of(expected, expected), got, "snapshot then WAL, against PostgreSQL's c::text");
            }
        } finally {
            WalAdversaryCleanup.dropSlotPublicationAndDatabase(db, name);
        }
    }
}
