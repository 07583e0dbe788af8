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
import dev.pgkeyset.connect.pg.ReplicationConnection;
import dev.pgkeyset.connect.pg.Sql;

/**
 * {@link WalStream} over pgjdbc's replication API: one replication connection
 * ({@link ConnectionFactory#openReplication}) streaming {@code slot.name} through pgoutput,
 * protocol version 1 in text format (why not binary: see {@link #open}), for {@code publication.name}.
 *
 * <p>Threads: {@link #read()}, {@link #receivedLsn()} and {@link #close()} belong to the task's
 * poll thread (pgjdbc's stream is not thread-safe); {@link #confirm(long)} may be called from any
 * thread (Kafka Connect calls {@code commitRecord} from the producer's callback thread): it only
 * records the position, and the next {@code read()} sends it to the server, at most every
 * {@link #CONFIRM_INTERVAL}. {@code read()} must be called at least every status interval while the
 * stream is open, or the server ends the connection after its {@code wal_sender_timeout}.
 *
 * <p>A network that stops passing bytes cannot block {@code read()} (it never waits for data), and
 * is noticed: after a third of {@code connection.socket.timeout.ms} of silence ({@link #PROBE_AFTER}
 * at most) the stream asks the server for a keepalive, and silence past the whole timeout fails
 * {@code read()} with a transient {@code 08006}. The probe is also what notices a server that shut
 * down cleanly: pgjdbc's non-blocking read keeps the walsender's final CommandComplete to itself,
 * so only the failed write of a probe tells the stream the connection is gone.
 */
public final class PgWalStream implements WalStream {

    private static final Logger LOG = LoggerFactory.getLogger(PgWalStream.class);

    /** How often pgjdbc sends the standby status on its own (received/flushed positions, and "alive"). */
    public static final Duration STATUS_INTERVAL = Duration.ofSeconds(10);
    /** Longest silence before the server is asked for a keepalive (bounds how late a clean shutdown is seen). */
    static final Duration PROBE_AFTER = Duration.ofSeconds(2);
    /** A new confirmed position is sent at most this often (each send asks the server for a keepalive back). */
    public static final Duration CONFIRM_INTERVAL = Duration.ofMillis(200);

    private final String slot;
    private final String publication;
    private final ReplicationConnection replication;
    private final PGReplicationStream stream;
    private final int backendPid;

    /** Highest position the server said it has sent; the stream's own moves back on a Begin, this never does. */
    private long receivedLsn;
    private final AtomicLong confirmedLsn;
    /** The confirmed position last handed to the server. */
    private long sentConfirmedLsn;
    private long lastConfirmSentNanos;
    private boolean closed;
    /** Silence after which the connection counts as dead (connection.socket.timeout.ms; 0: never). */
    private final long silenceLimitNanos;
    /** Silence after which the server is asked for a keepalive, to tell quiet from dead. */
    private final long probeAfterNanos;
    private long lastProbeNanos;

    private PgWalStream(String slot, String publication, ReplicationConnection replication, PGReplicationStream stream,
            long confirmedLsn, Duration silenceLimit) throws SQLException {
        this.slot = slot;
        this.publication = publication;
        this.replication = replication;
        this.stream = stream;
        this.backendPid = replication.connection().unwrap(PGConnection.class).getBackendPID();
        this.silenceLimitNanos = silenceLimit.toNanos();
        this.probeAfterNanos = Math.min(PROBE_AFTER.toNanos(), silenceLimitNanos / 3);
        this.lastProbeNanos = System.nanoTime();
        this.receivedLsn = Lsn.max(confirmedLsn, stream.getLastReceiveLSN().asLong());
        this.confirmedLsn = new AtomicLong(confirmedLsn);
        this.sentConfirmedLsn = confirmedLsn;
        // The first confirm goes out at once.
        this.lastConfirmSentNanos = System.nanoTime() - CONFIRM_INTERVAL.toNanos();
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
        return open(config, startLsn, false);
    }

    /**
     * @param messages whether pgoutput also sends logical messages ({@code messages}, PostgreSQL
     *                 14+): the watermarks of a snapshot read in chunks beside the stream
     */
    public static PgWalStream open(PgKeysetConfig config, long startLsn, boolean messages) throws SQLException {
        String slot = config.slotName();
        String publication = config.publicationName();
        ReplicationConnection replication = ConnectionFactory.openReplication(config);
        Connection connection = replication.connection();
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
            if ("unreserved".equals(state.get().walStatus())) {
                LOG.warn("Replication slot '{}' is about to lose WAL it needs (wal_status = 'unreserved': it retains more "
                        + "than max_slot_wal_keep_size, and the server may remove that WAL at its next checkpoint); "
                        + "once lost, only a new snapshot recovers", slot);
            }
            if (state.get().active()) {
                throw new SlotInUseException(slot, state.get().activePid(), null);
            }
            // pgoutput's text format, not its binary one ('binary' 'true', PostgreSQL 14+), by
            // measurement (benchmark lines 9a/9b, 2026-12-02, the 2-core machine under load): on
            // the drain's backlog (200,000 updates of an int, int, int, char(84) row) a bare
            // stream read both at the same rate within noise (110k to 150k updates/s each, runs
            // alternating), binary sent 4 % more bytes (124 against 120 per update: int4 takes 4
            // bytes where small numbers take 1 to 6 digits), and the walsender's CPU per update
            // was the same within the 10 ms resolution of /proc (3.8 to 6.8 us either way: its
            // time goes into decoding the WAL, not the output functions). Decoding the text
            // (PgOutputDecoder's Strings, the converters' parsing) is about a sixth of the task's
            // 1.8 us per record in a profile, about 1 % of the worker JVM's CPU per record.
            // Binary would need a binary reader for every type a converter handles (numeric,
            // timestamps, arrays, ranges, composites with their element oids, jsonb's version
            // byte, ...) for under 1 % of that CPU.
            var logical = connection.unwrap(PGConnection.class).getReplicationAPI()
                    .replicationStream().logical()
                    .withSlotName(slot)
                    .withSlotOption("proto_version", "1")
                    .withSlotOption("publication_names", publicationNamesOption(publication));
            if (messages) {
                logical = logical.withSlotOption("messages", "true");
            }
            PGReplicationStream stream = logical
                    .withStartPosition(LogSequenceNumber.valueOf(startLsn))
                    .withStatusInterval((int) STATUS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)
                    .start();
            long confirmed = Lsn.max(state.get().confirmedFlushLsn(), startLsn);
            PgWalStream opened = new PgWalStream(slot, publication, replication, stream, confirmed,
                    config.socketTimeout());
            LOG.info("Streaming replication slot '{}' (publication '{}') from {} on walsender pid {}", slot,
                    publication, Lsn.format(confirmed), opened.backendPid);
            return opened;
        } catch (SQLException e) {
            closeQuietly(replication);
            throw WalStreamFaults.rethrow(e, slot, publication);
        } catch (RuntimeException e) {
            closeQuietly(replication);
            throw e;
        }
    }

    /**
     * pgoutput reads {@code publication_names} as a list of identifiers (unquoted ones fold to
     * lower case), and pgjdbc puts the option's value between single quotes as it is.
     */
    static String publicationNamesOption(String publication) {
        return Sql.quoteIdentifier(publication).replace("'", "''");
    }

    /** See {@link #lastMessageLsn()}; read on the poll thread only, like {@link #read()}. */
    private long lastMessageLsn;

    @Override
    public long lastMessageLsn() {
        return lastMessageLsn;
    }

    @Override
    public PgOutputMessage read() throws SQLException {
        if (closed) {
            throw new SQLException("The WAL stream of slot '" + slot + "' is closed", "08003");
        }
        try {
            sendConfirmedIfDue();
            ByteBuffer payload = stream.readPending();
            long lastReceived = stream.getLastReceiveLSN().asLong();
            receivedLsn = Lsn.max(receivedLsn, lastReceived);
            if (payload == null) {
                checkAlive();
                return null;
            }
            // Right after a message, the driver's last received LSN is that message's start.
            lastMessageLsn = lastReceived;
            return decode(payload);
        } catch (SQLException e) {
            close();
            throw WalStreamFaults.rethrow(e, slot, publication);
        }
    }

    /**
     * Nothing to read: a quiet server, or a network that stopped passing bytes. A server answers
     * a status update that asks for a reply, so after some silence one is sent; silence past
     * {@code connection.socket.timeout.ms} is a dead connection (transient: the reader reopens).
     */
    private void checkAlive() throws SQLException {
        long silent = replication.nanosSinceLastRead();
        if (silent < 0 || silenceLimitNanos == 0) {
            return;
        }
        if (silent > silenceLimitNanos) {
            throw new SQLException("No byte from the walsender of slot '" + slot + "' for " + silent / 1_000_000
                    + " ms (connection.socket.timeout.ms is " + silenceLimitNanos / 1_000_000 + "): the network or the "
                    + "server stopped answering", "08006");
        }
        long now = System.nanoTime();
        if (silent > probeAfterNanos && now - lastProbeNanos > probeAfterNanos) {
            stream.forceUpdateStatus();
            lastProbeNanos = now;
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
        closeQuietly(replication);
    }

    private static void closeQuietly(ReplicationConnection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.debug("Closing the replication connection: {}", e.getMessage());
        }
    }
}
