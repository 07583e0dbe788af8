package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Commit;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Insert;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TestSlot;

/**
 * {@link PgWalStream} on a real slot: messages arrive decoded, the walsender runs the output
 * functions under the connector's pinned settings (the database's own are hostile), and a
 * confirmed position reaches {@code pg_replication_slots.confirmed_flush_lsn} promptly.
 */
class PgWalStreamIT {

    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TestDatabase db;
    private TestSlot slot;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("wal_stream_stream");
        db.execute("CREATE TABLE t (id int PRIMARY KEY, price money, span interval, at date, f float8, b bytea)");
        // Hostile defaults for everything the output functions depend on: the replication session must not see them.
        db.execute("ALTER DATABASE " + db.name() + " SET IntervalStyle = 'postgres_verbose'",
                "ALTER DATABASE " + db.name() + " SET DateStyle = 'SQL, DMY'",
                "ALTER DATABASE " + db.name() + " SET extra_float_digits = -10",
                "ALTER DATABASE " + db.name() + " SET bytea_output = 'escape'");
        slot = db.createSlot("t");
    }

    @AfterEach
    void tearDown() {
        try {
            slot.close();
        } finally {
            db.close();
        }
    }

    static PgKeysetConfig config(TestDatabase db, TestSlot slot) {
        Map<String, String> props = new HashMap<>(db.connectorConfig("s", "public\\.t"));
        props.putAll(slot.walProps());
        return new PgKeysetConfig(props);
    }

    /** Reads until a Commit arrives, returning everything read. */
    static List<PgOutputMessage> readTransaction(WalStream stream) throws SQLException, InterruptedException {
        List<PgOutputMessage> messages = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            PgOutputMessage m = stream.read();
            if (m == null) {
                Thread.sleep(5);
                continue;
            }
            messages.add(m);
            if (m instanceof Commit) {
                return messages;
            }
        }
        throw new AssertionError("no Commit within " + TIMEOUT + "; read " + messages);
    }

    static String confirmedFlush(TestDatabase db, TestSlot slot) throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot.slot() + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Each value's text as PostgreSQL prints it under the connector's pinned settings. */
    private String[] expectedTexts() throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("SET IntervalStyle = iso_8601");
            st.execute("SET DateStyle = 'ISO, MDY'");
            st.execute("SET extra_float_digits = 1");
            st.execute("SET bytea_output = hex");
            st.execute("SET lc_monetary = 'C'");
            try (ResultSet rs = st.executeQuery("SELECT id::text, price::text, span::text, at::text, f::text, b::text"
                    + " FROM t WHERE id = 1")) {
                rs.next();
                String[] texts = new String[6];
                for (int i = 0; i < texts.length; i++) {
                    texts[i] = rs.getString(i + 1);
                }
                return texts;
            }
        }
    }

    @Test
    void streamsDecodedChangesUnderPinnedSettingsAndConfirms() throws Exception {
        try (PgWalStream stream = PgWalStream.open(config(db, slot), 0)) {
            assertEquals(Lsn.parse(confirmedFlush(db, slot)), stream.confirmedLsn());
            db.execute("INSERT INTO t VALUES (1, -1234.56, '1 day 02:03:04.5', '2024-02-29', 0.1, '\\x00ff')");

            List<PgOutputMessage> tx = readTransaction(stream);

            Insert insert = tx.stream().filter(Insert.class::isInstance).map(Insert.class::cast).findFirst().orElseThrow();
            String[] expected = expectedTexts();
            assertEquals("-$1,234.56", expected[1], "lc_monetary=C prints money this way");
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], insert.newTuple().texts()[i], "column " + i);
            }
            Commit commit = (Commit) tx.get(tx.size() - 1);
            assertTrue(Lsn.compare(stream.receivedLsn(), commit.endLsn()) >= 0,
                    Lsn.format(stream.receivedLsn()) + " >= " + Lsn.format(commit.endLsn()));

            long started = System.nanoTime();
            stream.confirm(commit.endLsn());
            assertEquals(commit.endLsn(), stream.confirmedLsn());
            while (!Lsn.format(commit.endLsn()).equals(confirmedFlush(db, slot))) {
                assertTrue(System.nanoTime() - started < Duration.ofSeconds(5).toNanos(),
                        "confirmed_flush_lsn " + confirmedFlush(db, slot) + " never reached " + Lsn.format(commit.endLsn()));
                stream.read();
                Thread.sleep(10);
            }
            System.out.printf("confirm() reached confirmed_flush_lsn in %d ms%n", (System.nanoTime() - started) / 1_000_000);
            stream.confirm(commit.commitLsn()); // never backwards
            assertEquals(commit.endLsn(), stream.confirmedLsn());
        }
    }

    @Test
    void reopenedStreamStartsAfterTheConfirmedTransaction() throws Exception {
        long firstEnd;
        try (PgWalStream stream = PgWalStream.open(config(db, slot), 0)) {
            db.execute("INSERT INTO t (id) VALUES (1)");
            firstEnd = ((Commit) last(readTransaction(stream))).endLsn();
            stream.confirm(firstEnd); // sent by close()
        }
        db.execute("INSERT INTO t (id) VALUES (2)");
        try (PgWalStream stream = PgWalStream.open(config(db, slot), 0)) {
            List<PgOutputMessage> tx = readTransaction(stream);
            List<String> ids = tx.stream().filter(Insert.class::isInstance).map(m -> ((Insert) m).newTuple().texts()[0]).toList();
            assertEquals(List.of("2"), ids);
            assertTrue(Lsn.compare(((Commit) last(tx)).commitLsn(), firstEnd) > 0);
        }
    }

    private static PgOutputMessage last(List<PgOutputMessage> messages) {
        return messages.get(messages.size() - 1);
    }
}
