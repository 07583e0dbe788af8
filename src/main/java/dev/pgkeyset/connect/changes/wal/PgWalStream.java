package dev.pgkeyset.connect.changes.wal;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.errors.ConnectException;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ConnectionFactory;

/**
 * {@link WalStream} over pgjdbc's replication API: one replication connection
 * ({@link ConnectionFactory#openReplication}) streaming {@code slot.name} through pgoutput,
 * protocol version 1 in text format, for {@code publication.name}.
 *
 * <p>Threads: {@link #read()}, {@link #receivedLsn()} and {@link #close()} belong to the task's
 * poll thread (pgjdbc's stream is not thread-safe); {@link #confirm(long)} may be called from any
 * thread (Kafka Connect calls {@code commitRecord} from the producer's callback thread): it only
 * records the position, and the next {@code read()} sends it to the server, at most every
 * {@link #CONFIRM_INTERVAL}. {@code read()} must be called at least every status interval while the
 * stream is open, or the server ends the connection after its {@code wal_sender_timeout}.
 */
public final class PgWalStream implements WalStream {

    private static final Logger LOG = LoggerFactory.getLogger(PgWalStream.class);

    /** How often pgjdbc sends the standby status on its own (received/flushed positions, and "alive"). */
    public static final Duration STATUS_INTERVAL = Duration.ofSeconds(10);
    /** A new confirmed position is sent at most this often (each send asks the server for a keepalive back). */
    public static final Duration CONFIRM_INTERVAL = Duration.ofMillis(500);

    private final String slot;
    private final String publication;
    private final Connection connection;
    private final PGReplicationStream stream;
    private final int backendPid;

    /** Highest position the server said it has sent; the stream's own moves back on a Begin, this never does. */
    private long receivedLsn;
    private final AtomicLong confirmedLsn;
    /** The confirmed position last handed to the server. */
    private long sentConfirmedLsn;
    private long lastConfirmSentNanos;
    private boolean closed;

    private PgWalStream(String slot, String publication, Connection connection, PGReplicationStream stream,
            long confirmedLsn) throws SQLException {
        this.slot = slot;
        this.publication = publication;
        this.connection = connection;
        this.stream = stream;
        this.backendPid = connection.unwrap(PGConnection.class).getBackendPID();
        this.receivedLsn = Lsn.max(confirmedLsn, stream.getLastReceiveLSN().asLong());
        this.confirmedLsn = new AtomicLong(confirmedLsn);
        this.sentConfirmedLsn = confirmedLsn;
        this.lastConfirmSentNanos = System.nanoTime();
    }

    /**
     * Opens {@code config.slotName()} for {@code config.publicationName()}, from {@code startLsn}
     * (0: from the slot's confirmed position; the server never starts before that anyway).
     *
     * @throws SlotInUseException when another backend streams the slot: wait and open again
     * @throws SlotLostException  when the slot does not exist or lost its WAL: fail the task
     * @throws SQLException       otherwise; {@link dev.pgkeyset.connect.pg.SqlErrors#isTransient} says whether a retry can help
     */
    public static PgWalStream open(PgKeysetConfig config, long startLsn) throws SQLException {
        String slot = config.slotName();
        String publication = config.publicationName();
        Connection connection = ConnectionFactory.openReplication(config);
        try {
            // Asked first, on the same connection, so the task's error says what is wrong with the
            // slot rather than what START_REPLICATION happened to report.
            Optional<ReplicationSlot.State> state = new ReplicationSlot(slot).describe(connection);
            if (state.isEmpty()) {
                throw WalStreamFaults.slotMissing(slot, null);
            }
            if (state.get().lost()) {
                throw WalStreamFaults.slotLost(slot);
            }
            if (state.get().active()) {
                throw new SlotInUseException(slot, state.get().activePid(), null);
            }
            PGReplicationStream stream = connection.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream().logical()
                    .withSlotName(slot)
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", publication)
                    .withStartPosition(LogSequenceNumber.valueOf(startLsn))
                    .withStatusInterval((int) STATUS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)
                    .start();
            long confirmed = Lsn.max(state.get().confirmedFlushLsn(), startLsn);
            PgWalStream opened = new PgWalStream(slot, publication, connection, stream, confirmed);
            LOG.info("Streaming replication slot '{}' (publication '{}') from {} on walsender pid {}", slot,
                    publication, Lsn.format(confirmed), opened.backendPid);
            return opened;
        } catch (SQLException e) {
            closeQuietly(connection);
            throw WalStreamFaults.rethrow(e, slot, publication);
        } catch (RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    @Override
    public PgOutputMessage read() throws SQLException {
        if (closed) {
            throw new SQLException("The WAL stream of slot '" + slot + "' is closed", "08003");
        }
        try {
            sendConfirmedIfDue();
            ByteBuffer payload = stream.readPending();
            receivedLsn = Lsn.max(receivedLsn, stream.getLastReceiveLSN().asLong());
            return payload == null ? null : decode(payload);
        } catch (SQLException e) {
            close();
            throw WalStreamFaults.rethrow(e, slot, publication);
        }
    }

    private PgOutputMessage decode(ByteBuffer payload) {
        try {
            return PgOutputDecoder.decode(payload);
        } catch (IllegalArgumentException e) {
            throw new ConnectException("Could not decode the pgoutput message at " + Lsn.format(receivedLsn)
                    + " of slot '" + slot + "': " + e.getMessage(), e);
        }
    }

    private void sendConfirmedIfDue() throws SQLException {
        long confirmed = confirmedLsn.get();
        if (confirmed != sentConfirmedLsn
                && System.nanoTime() - lastConfirmSentNanos >= CONFIRM_INTERVAL.toNanos()) {
            sendConfirmed(confirmed);
        }
    }

    private void sendConfirmed(long confirmed) throws SQLException {
        LogSequenceNumber lsn = LogSequenceNumber.valueOf(confirmed);
        stream.setFlushedLSN(lsn);
        stream.setAppliedLSN(lsn);
        stream.forceUpdateStatus();
        sentConfirmedLsn = confirmed;
        lastConfirmSentNanos = System.nanoTime();
    }

    @Override
    public long receivedLsn() {
        return receivedLsn;
    }

    @Override
    public void confirm(long lsn) {
        confirmedLsn.accumulateAndGet(lsn, Lsn::max);
    }

    @Override
    public long confirmedLsn() {
        return confirmedLsn.get();
    }

    /** The walsender's process id ({@code pg_stat_replication.pid}), for logs. */
    public int backendPid() {
        return backendPid;
    }

    /** Sends the last confirmed position if it was not yet sent, then ends the walsender's session. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        long confirmed = confirmedLsn.get();
        if (confirmed != sentConfirmedLsn && !stream.isClosed()) {
            try {
                sendConfirmed(confirmed);
            } catch (SQLException e) {
                LOG.debug("Could not send the confirmed position {} of slot '{}' on close: {}", Lsn.format(confirmed),
                        slot, e.getMessage());
            }
        }
        // Closing the connection ends the walsender at once; ending the COPY first would wait for
        // the server to stop sending, which a large transaction can make long.
        closeQuietly(connection);
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.debug("Closing the replication connection: {}", e.getMessage());
        }
    }
}
