package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TestSlot;

/**
 * The slot of an idle connector keeps up with WAL it does not capture: ~100 MB written to a table
 * outside the publication, the stream read and {@link WalStream#receivedLsn()} confirmed as the
 * reader does between transactions, and the slot's confirmed position must be within 16 MB of
 * {@code pg_current_wal_lsn()} within 60 s of the load's start. Keepalives alone, no heartbeat:
 * the figure printed says how long it took and how far behind the slot was at worst.
 */
class IdleSlotIT {

    private static final long WAL_BYTES = 100L << 20;
    private static final long WITHIN_BYTES = 16L << 20;
    private static final Duration WITHIN = Duration.ofSeconds(60);
    /** Rows just under the TOAST threshold (not compressed), ~2 kB of WAL each. */
    private static final int ROW_CHARS = 1900;
    private static final int ROWS_PER_STATEMENT = 5_000;

    private TestDatabase db;
    private TestSlot slot;
    private final ExecutorService writer = Executors.newSingleThreadExecutor();

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("wal_stream_idle");
        db.execute("CREATE TABLE t (id int PRIMARY KEY)",
                "CREATE TABLE bulk (id int, filler text)");
        slot = db.createSlot("t");
    }

    @AfterEach
    void tearDown() {
        writer.shutdownNow();
        try {
            slot.close();
        } finally {
            db.close();
        }
    }

    private static long lsn(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    @Test
    void keepalivesAloneKeepTheSlotWithin16MbOfTheWal() throws Exception {
        measure(db, "an uncaptured table of its database", true);
    }

    /** WAL of another database: the walsender reads it too, and only keepalives can report it. */
    @Test
    void loadInAnotherDatabaseAlsoMovesTheSlot() throws Exception {
        try (TestDatabase other = PostgresFixture.createDatabase("wal_stream_idle_other")) {
            other.execute("CREATE TABLE bulk (id int, filler text)");
            measure(other, "another database", false);
        }
    }

    /** A heartbeat is decoded and reported by a keepalive: receivedLsn reaches the end of its record. */
    @Test
    void heartbeatMovesReceivedLsnUpToIt() throws Exception {
        try (PgWalStream stream = PgWalStream.open(PgWalStreamIT.config(db, slot), 0); Connection c = db.connect()) {
            c.setAutoCommit(false);
            c.setReadOnly(true); // as the task's pooled connections are
            long beat = Heartbeat.emit(c);
            long started = System.nanoTime();
            while (Lsn.compare(stream.receivedLsn(), beat) < 0) {
                assertTrue(System.nanoTime() - started < Duration.ofSeconds(10).toNanos(),
                        "receivedLsn " + Lsn.format(stream.receivedLsn()) + " never reached the heartbeat's end at " + Lsn.format(beat));
                assertNull(stream.read(), "the heartbeat is not forwarded");
                Thread.sleep(5);
            }
            System.out.printf("Heartbeat ending at %s reached by receivedLsn after %d ms%n", Lsn.format(beat),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    /**
     * Loads ~100 MB into {@code loadDb}.bulk while reading the stream and confirming receivedLsn;
     * passes once the slot's confirmed position (and, if {@code untilRetained}, its restart_lsn)
     * is within 16 MB of the WAL's end.
     */
    private void measure(TestDatabase loadDb, String where, boolean untilRetained) throws Exception {
        try (PgWalStream stream = PgWalStream.open(PgWalStreamIT.config(db, slot), 0);
                Connection c = db.connect(); Statement st = c.createStatement()) {
            long start = lsn(st, "SELECT pg_current_wal_lsn()::text");
            long started = System.nanoTime();
            Future<Long> load = writer.submit(() -> {
                try (Connection w = loadDb.connect(); Statement ws = w.createStatement()) {
                    long written = 0;
                    int from = 0;
                    while (written < WAL_BYTES) {
                        ws.execute("INSERT INTO bulk SELECT g, repeat(chr(65 + g % 26), " + ROW_CHARS + ")"
                                + " FROM generate_series(" + from + ", " + (from + ROWS_PER_STATEMENT - 1) + ") g");
                        from += ROWS_PER_STATEMENT;
                        written = Lsn.minus(lsn(ws, "SELECT pg_current_wal_lsn()::text"), start);
                    }
                    return written;
                }
            });
            long worstLag = 0;
            long firstReceivedMove = -1;
            long writtenMs = -1;
            long caughtUpMs = -1;
            long retainedMs = -1;
            long written = 0;
            long lastSample = 0;
            while (System.nanoTime() - started < WITHIN.toNanos()) {
                PgOutputMessage m = stream.read();
                assertNull(m, "nothing of the uncaptured table is sent");
                // What the reader does while it holds nothing unacknowledged and is between transactions.
                stream.confirm(stream.receivedLsn());
                if (firstReceivedMove < 0 && Lsn.compare(stream.receivedLsn(), start) > 0) {
                    firstReceivedMove = (System.nanoTime() - started) / 1_000_000;
                }
                if (System.nanoTime() - lastSample > 100_000_000L) {
                    lastSample = System.nanoTime();
                    long lag = Lsn.minus(lsn(st, "SELECT pg_current_wal_lsn()::text"),
                            lsn(st, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '"
                                    + slot.slot() + "'"));
                    worstLag = Math.max(worstLag, lag);
                    if (writtenMs < 0 && load.isDone()) {
                        written = load.get();
                        writtenMs = (System.nanoTime() - started) / 1_000_000;
                    }
                    if (writtenMs >= 0 && lag < WITHIN_BYTES && caughtUpMs < 0) {
                        caughtUpMs = (System.nanoTime() - started) / 1_000_000;
                    }
                    long retained = Lsn.minus(lsn(st, "SELECT pg_current_wal_lsn()::text"),
                            lsn(st, "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = '"
                                    + slot.slot() + "'"));
                    if (caughtUpMs >= 0 && retained < WITHIN_BYTES) {
                        retainedMs = (System.nanoTime() - started) / 1_000_000;
                    }
                    if (caughtUpMs >= 0 && (retainedMs >= 0 || !untilRetained)) {
                        break;
                    }
                }
                Thread.sleep(1);
            }
            System.out.printf("Idle slot, load in %s: %d MB of uncaptured WAL written in %d ms; receivedLsn first moved after %d ms;"
                    + " confirmed position within 16 MB of pg_current_wal_lsn() %d ms after the load began;"
                    + " worst distance while loading %d MB; retained WAL (restart_lsn) under 16 MB after %d ms"
                    + " (keepalives only, no heartbeat)%n",
                    where, written >> 20, writtenMs, firstReceivedMove, caughtUpMs, worstLag >> 20, retainedMs);
            assertTrue(writtenMs >= 0, "the load did not finish within " + WITHIN);
            assertTrue(caughtUpMs >= 0, "the slot was not within 16 MB of the WAL within " + WITHIN);
            assertTrue(retainedMs >= 0 || !untilRetained, "the slot's restart_lsn was not within 16 MB of the WAL within " + WITHIN);
        }
    }
}
