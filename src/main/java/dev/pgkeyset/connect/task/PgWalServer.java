package dev.pgkeyset.connect.task;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.changes.wal.Heartbeat;
import dev.pgkeyset.connect.changes.wal.PgWalStream;
import dev.pgkeyset.connect.changes.wal.Publication;
import dev.pgkeyset.connect.changes.wal.ReplicationSlot;
import dev.pgkeyset.connect.changes.wal.WalStreamFaults;
import dev.pgkeyset.connect.changes.wal.SlotInUseException;
import dev.pgkeyset.connect.changes.wal.WalStream;
import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.config.PublicationAutocreate;
import dev.pgkeyset.connect.config.PublicationChecks;
import dev.pgkeyset.connect.pg.ConnectionFactory;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;

/** {@link WalServer} over the slot, publication and stream classes of {@code changes/wal}. */
public final class PgWalServer implements WalServer {

    private static final Logger log = LoggerFactory.getLogger(PgWalServer.class);
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private final PgKeysetConfig config;
    private final ReplicationSlot slot;

    public PgWalServer(PgKeysetConfig config) {
        this.config = config;
        this.slot = new ReplicationSlot(config.slotName());
    }

    /** A normal connection that may write (publication, slot, heartbeat), autocommit. */
    private Connection writable() throws SQLException {
        Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS);
        try {
            connection.setAutoCommit(true);
            connection.setReadOnly(false);
            return connection;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    @Override
    public void prepare(List<TableInfo> tables, boolean slotMustExist, Set<TableId> snapshotted)
            throws SQLException {
        List<TableId> captured = tables.stream().map(TableInfo::id).toList();
        try (Connection connection = writable()) {
            Publication publication = new Publication(config.publicationName());
            if (config.publicationAutocreate() == PublicationAutocreate.DISABLED) {
                List<String> problems = publication.check(connection,
                        tables.stream().map(PublicationChecks.Captured::of).toList());
                if (!problems.isEmpty()) {
                    throw new ConnectException(String.join("; ", problems));
                }
            } else if (!captured.isEmpty()) {
                failIfLeftThePublication(publication, connection, snapshotted);
                if (publication.ensureFiltered(connection, captured)) {
                    log.info("Publication '{}' created or set to the {} captured table(s)", publication.name(),
                            captured.size());
                }
            }
            if (slotMustExist && slot.describe(connection).isEmpty()) {
                // A new slot would start at today's position: whatever was committed between the
                // old slot's end and now would be skipped without a word, the offsets saying
                // the snapshot is done. Only a new snapshot recovers.
                throw WalStreamFaults.slotMissing(slot.name(), null);
            }
            ReplicationSlot.Ensured ensured = slot.ensure(connection);
            if (ensured.created()) {
                log.info("Created replication slot '{}' at {}", slot.name(),
                        dev.pgkeyset.connect.offset.WalOffset.formatLsn(ensured.lsn()));
            }
        }
    }

    /**
     * A table streamed before that the publication no longer holds was taken out of it by hand, or
     * dropped and created again, while the task was down: its changes written meanwhile were never
     * published, so the slot does not hold them, and putting it back (as filtered does) would skip
     * them without a word.
     */
    private void failIfLeftThePublication(Publication publication, Connection connection,
                                          Set<TableId> snapshotted) throws SQLException {
        List<TableId> left = publication.notPublished(connection, snapshotted);
        if (!left.isEmpty()) {
            throw new ConnectException("Table(s) " + left.stream().map(TableId::toString)
                    .collect(Collectors.joining(", ")) + " were streamed through publication '"
                    + publication.name() + "' but are no longer in it (taken out by hand, dropped and created "
                    + "again, or left out of table.include.list for a while, while the task was down): the changes written since then were not published, and slot '"
                    + slot.name() + "' does not hold them. Snapshot again: stop the connector, delete its offsets "
                    + "(DELETE /connectors/<name>/offsets), drop slot '" + slot.name() + "', start it.");
        }
    }

    @Override
    public WalStream open() throws SQLException {
        return PgWalStream.open(config, 0);
    }

    @Override
    public WalStream openWithMessages() throws SQLException {
        return PgWalStream.open(config, 0, true);
    }

    @Override
    public boolean streamsWatermarks() throws SQLException {
        try (Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS);
             java.sql.Statement st = connection.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting('server_version_num')::int "
                     + ">= 140000 AND NOT pg_catalog.pg_is_in_recovery()")) {
            rs.next();
            boolean streams = rs.getBoolean(1);
            connection.rollback();
            return streams;
        }
    }

    @Override
    public boolean waitsWithoutLimit(SQLException fault) {
        return fault instanceof SlotInUseException;
    }

    @Override
    public void heartbeat() throws SQLException {
        try (Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS)) {
            Heartbeat.emit(connection);
        }
    }

    @Override
    public List<String> publicationProblems(List<TableInfo> captured) throws SQLException {
        try (Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS)) {
            // One round trip for every table (this runs with each metrics sample): which still exist.
            List<PublicationChecks.Captured> existing = new java.util.ArrayList<>();
            try (java.sql.PreparedStatement st = connection.prepareStatement(
                    "SELECT u.i FROM pg_catalog.unnest(CAST(? AS pg_catalog.text[])) WITH ORDINALITY AS u(name, i)"
                            + " WHERE pg_catalog.to_regclass(u.name) IS NOT NULL ORDER BY u.i")) {
                st.setArray(1, connection.createArrayOf("text",
                        captured.stream().map(t -> t.id().quoted()).toArray()));
                try (java.sql.ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        existing.add(PublicationChecks.Captured.of(captured.get(rs.getInt(1) - 1)));
                    }
                }
            }
            return existing.isEmpty() ? List.of() : new Publication(config.publicationName()).check(connection, existing);
        }
    }

    @Override
    public long[] positions() throws SQLException {
        try (Connection connection = ConnectionFactory.openOnce(config, CONNECT_TIMEOUT_SECONDS)) {
            Optional<ReplicationSlot.Metrics> metrics = slot.metrics(connection);
            return metrics.map(m -> new long[] {m.currentWalLsn(), m.currentWalLsn() - m.retainedWalBytes()})
                    .orElse(null);
        }
    }
}
