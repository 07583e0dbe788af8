package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Commit;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Insert;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.SqlErrors;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TestSlot;

/**
 * Stream-level faults on a real slot, each sorted as the reader needs it: a terminated walsender
 * is transient and the stream reopened from its confirmed position loses nothing; a slot streamed
 * by another backend is a {@link SlotInUseException} naming that pid; a dropped slot or
 * publication fails with a message saying how to recover.
 */
class WalStreamFaultsIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TestDatabase db;
    private TestSlot slot;
    private PgKeysetConfig config;

    @BeforeEach
    void setUp() {
        db = PostgresFixture.createDatabase("wal_stream_faults");
        db.execute("CREATE TABLE t (id int PRIMARY KEY)");
        slot = db.createSlot("t");
        config = PgWalStreamIT.config(db, slot);
    }

    @AfterEach
    void tearDown() {
        try {
            slot.close();
        } finally {
            db.close();
        }
    }

    private void terminate(int pid) throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_terminate_backend(" + pid + ")");
        }
    }

    /** Opens the slot, waiting while a terminated walsender still holds it (as the reader does). */
    private PgWalStream openWaiting() throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            try {
                return PgWalStream.open(config, 0);
            } catch (SlotInUseException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void terminatedWalsenderIsTransientAndReopeningLosesNothing() throws Exception {
        int transactions = 60;
        // One transaction per id, each written once the previous one was read, so a termination
        // finds the walsender waiting rather than everything already in the socket's buffer.
        Connection writer = db.connect();
        Statement insert = writer.createStatement();
        int written = 1;
        insert.execute("INSERT INTO t VALUES (1)");
        List<Integer> received = new ArrayList<>();
        long lastCommit = 0;
        boolean skipping = false;
        int terminations = 0;
        int resent = 0;
        PgWalStream stream = PgWalStream.open(config, 0);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        try {
            while (received.size() < transactions) {
                assertTrue(System.nanoTime() < deadline, "received only " + received);
                PgOutputMessage m;
                try {
                    m = stream.read();
                } catch (SQLException e) {
                    assertTrue(SqlErrors.isTransient(e), "transient: " + SqlErrors.describe(e));
                    stream = openWaiting();
                    continue;
                }
                if (m == null) {
                    Thread.sleep(2);
                } else if (m instanceof PgOutputMessage.Begin begin) {
                    // The slot sends again what was not confirmed: skip what was seen, as the reader's offsets do.
                    skipping = Lsn.compare(begin.finalLsn(), lastCommit) <= 0;
                    resent += skipping ? 1 : 0;
                } else if (m instanceof Insert row && !skipping) {
                    received.add(Integer.valueOf(row.newTuple().texts()[0]));
                } else if (m instanceof Commit commit && !skipping) {
                    lastCommit = commit.commitLsn();
                    // Confirm every other transaction only, so each break leaves one to be sent again.
                    if (received.size() % 2 == 0) {
                        stream.confirm(commit.endLsn());
                    }
                    if (received.size() % 20 == 5 && terminations < 3) {
                        awaitConfirmedOnServer(stream);
                        terminate(stream.backendPid());
                        terminations++;
                    }
                    if (written < transactions) {
                        insert.execute("INSERT INTO t VALUES (" + ++written + ")");
                    }
                }
            }
        } finally {
            stream.close();
            writer.close();
        }
        assertEquals(3, terminations);
        // Each reopening started at the confirmed position: exactly the one unconfirmed transaction came again.
        assertEquals(terminations, resent, "transactions sent again");
        List<Integer> expected = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id FROM t ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getInt(1));
            }
        }
        // Nothing lost, nothing twice: every inserted id, in commit order.
        assertEquals(expected, received);
        System.out.printf("3 walsender terminations: %d transactions re-sent and skipped%n", resent);
    }

    /** Reads (which sends the confirmed position) until pg_replication_slots shows it. */
    private void awaitConfirmedOnServer(PgWalStream stream) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        String wanted = Lsn.format(stream.confirmedLsn());
        while (!wanted.equals(PgWalStreamIT.confirmedFlush(db, slot))) {
            assertTrue(System.nanoTime() < deadline, "confirmed " + wanted + " never reached the server");
            stream.read();
            Thread.sleep(5);
        }
    }

    private Integer activePid() throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot.slot() + "'")) {
            rs.next();
            int pid = rs.getInt(1);
            return rs.wasNull() ? null : pid;
        }
    }

    @Test
    void secondStreamOnAnActiveSlotIsToldWhoHoldsIt() throws Exception {
        try (PgWalStream first = PgWalStream.open(config, 0)) {
            // pg_replication_slots may show the walsender a few milliseconds after START_REPLICATION returned.
            long t0 = System.nanoTime();
            Integer holder = activePid();
            while (holder == null && System.nanoTime() - t0 < 3_000_000_000L) {
                first.read();
                Thread.sleep(10);
                holder = activePid();
            }
            assertEquals(first.backendPid(), holder);

            SlotInUseException e = assertThrows(SlotInUseException.class, () -> PgWalStream.open(config, 0));

            assertEquals(holder, e.activePid());
            assertEquals("55006", e.getSQLState());
            assertTrue(e.getMessage().contains("'" + slot.slot() + "' is active for backend pid " + holder), e.getMessage());
            assertTrue(!SqlErrors.isTransient(e) && SqlErrors.isObjectInUse(e), "its own kind, not counted as attempts");
        }
    }

    @Test
    void startReplicationRefusedForAnActiveSlotIsClassifiedTheSameWay() throws Exception {
        // The race the slot check before START_REPLICATION cannot close: the server's own 55006.
        try (PgWalStream first = PgWalStream.open(config, 0);
                dev.pgkeyset.connect.pg.ReplicationConnection replication =
                        dev.pgkeyset.connect.pg.ConnectionFactory.openReplication(config)) {
            SQLException refused = assertThrows(SQLException.class, () -> replication.connection()
                    .unwrap(org.postgresql.PGConnection.class).getReplicationAPI().replicationStream().logical()
                    .withSlotName(slot.slot()).withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", slot.publication()).start());

            Exception classified = WalStreamFaults.classify(refused, slot.slot(), slot.publication());

            SlotInUseException inUse = (SlotInUseException) classified;
            assertEquals(Integer.valueOf(first.backendPid()), inUse.activePid());
        }
    }

    @Test
    void droppedSlotFailsSayingHowToRecover() throws Exception {
        db.execute("SELECT pg_drop_replication_slot('" + slot.slot() + "')");

        SlotLostException e = assertThrows(SlotLostException.class, () -> PgWalStream.open(config, 0));

        assertTrue(e.getMessage().contains("'" + slot.slot() + "' does not exist any more"), e.getMessage());
        assertTrue(e.getMessage().contains("delete its offsets"), e.getMessage());
        assertTrue(e instanceof ConnectException);
    }

    @Test
    void droppedPublicationFailsNamingIt() throws Exception {
        try (PgWalStream stream = PgWalStream.open(config, 0)) {
            db.execute("DROP PUBLICATION " + slot.publication(), "INSERT INTO t VALUES (1)");
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            try {
                while (System.nanoTime() < deadline) {
                    if (stream.read() == null) {
                        Thread.sleep(5);
                    }
                }
                fail("the stream went on without its publication");
            } catch (ConnectException e) {
                assertTrue(e.getMessage().contains("Publication '" + slot.publication() + "' does not exist"),
                        e.getMessage());
            }
        }
    }

    @Test
    void frozenNetworkIsDetectedWithinTheSocketTimeoutThenTheStreamResumes() throws Exception {
        PostgresFixture.Server server = PostgresFixture.server();
        try (dev.pgkeyset.connect.testing.FreezingProxy proxy =
                new dev.pgkeyset.connect.testing.FreezingProxy(server.host(), server.port())) {
            java.util.Map<String, String> props = new java.util.HashMap<>(db.connectorConfig("s", "public\\.t"));
            props.putAll(slot.walProps());
            props.put("connection.url", "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name());
            props.put("connection.socket.timeout.ms", "3000");
            config = new PgKeysetConfig(props);
            PgWalStream stream = PgWalStream.open(config, 0);
            try {
                db.execute("INSERT INTO t VALUES (1)");
                List<PgOutputMessage> first = PgWalStreamIT.readTransaction(stream);
                stream.confirm(((Commit) first.get(first.size() - 1)).endLsn());
                awaitConfirmedOnServer(stream);

                long frozenAt = System.nanoTime();
                proxy.freeze();
                db.execute("INSERT INTO t VALUES (2)");
                long longestRead = 0;
                SQLException dead = null;
                while (dead == null) {
                    assertTrue(System.nanoTime() - frozenAt < TIMEOUT.toNanos(), "a frozen network went unnoticed");
                    long before = System.nanoTime();
                    try {
                        assertEquals(null, stream.read());
                    } catch (SQLException e) {
                        dead = e;
                    }
                    longestRead = Math.max(longestRead, System.nanoTime() - before);
                    Thread.sleep(10);
                }
                long detectedMs = (System.nanoTime() - frozenAt) / 1_000_000;
                assertTrue(SqlErrors.isTransient(dead), SqlErrors.describe(dead));
                // Not before the socket timeout (less a little: the timeout runs from the stream's last
                // read, which can precede the freeze by a few ms; seen: 2,997 ms in a full run).
                assertTrue(detectedMs >= 2900 && detectedMs < 10_000, "detected after " + detectedMs + " ms");
                assertTrue(longestRead < 1_000_000_000L, "read() blocked " + longestRead / 1_000_000 + " ms");
                System.out.printf("Frozen network: read() failed after %d ms (socket timeout 3 s), longest read() %d ms: %s%n",
                        detectedMs, longestRead / 1_000_000, dead.getMessage());

                proxy.thaw();
                stream = openWaiting();
                List<PgOutputMessage> second = PgWalStreamIT.readTransaction(stream);
                assertEquals(List.of("2"), second.stream().filter(Insert.class::isInstance)
                        .map(m -> ((Insert) m).newTuple().texts()[0]).toList());
            } finally {
                stream.close();
            }
        }
    }

    @Test
    void closeSendsTheLastConfirmedPosition() throws Exception {
        db.execute("INSERT INTO t VALUES (1)");
        long end;
        try (PgWalStream stream = PgWalStream.open(config, 0)) {
            List<PgOutputMessage> tx = PgWalStreamIT.readTransaction(stream);
            end = ((Commit) tx.get(tx.size() - 1)).endLsn();
            stream.confirm(end); // within CONFIRM_INTERVAL of opening: only close() sends it
        }
        assertEquals(Lsn.format(end), PgWalStreamIT.confirmedFlush(db, slot));
    }
}
