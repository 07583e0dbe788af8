package dev.pgkeyset.connect.config;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.changes.wal.ReplicationSlot;
import dev.pgkeyset.connect.config.WalSetupChecks.Problem;
import dev.pgkeyset.connect.pg.PublicationFacts;
import dev.pgkeyset.connect.pg.ReplicationServer;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * What capture.mode=wal needs from the configuration, the server, the role, the slot and the
 * publication, checked by validate(). The facts are read here; each decision is a function in
 * {@link WalSetupChecks} or {@link PublicationChecks}. Table-level conditions (replica identity,
 * views) are checked by table discovery, so a table that fails them is never published.
 * snapshot.mode=initial_only uses no slot and no publication: only the configuration is checked.
 */
public final class WalPreconditions {

    private static final Logger log = LoggerFactory.getLogger(WalPreconditions.class);

    private WalPreconditions() {
    }

    /** The checks that need no database; also run at connector start. */
    public static List<Problem> configProblems(PgKeysetConfig config, Optional<Integer> tasksMax) {
        List<Problem> problems = new ArrayList<>();
        tasksMax.flatMap(WalSetupChecks::tasksMax).ifPresent(problems::add);
        WalSetupChecks.softDelete(config.softDeleteColumn()).ifPresent(problems::add);
        return problems;
    }

    /** Keys of query mode that wal mode ignores: worth a warning, not a refusal (they change no meaning). */
    public static void warnIgnoredKeys(PgKeysetConfig config) {
        List<String> ignored = new ArrayList<>();
        if (config.incrementalColumn() != null && !config.incrementalColumn().isBlank()) {
            ignored.add(PgKeysetConfig.INCREMENTAL_COLUMN);
        }
        if (!config.getList(PgKeysetConfig.INCREMENTAL_COLUMNS).isEmpty()) {
            ignored.add(PgKeysetConfig.INCREMENTAL_COLUMNS);
        }
        if (config.originals().containsKey(PgKeysetConfig.INCREMENTAL_START)) {
            ignored.add(PgKeysetConfig.INCREMENTAL_START);
        }
        if (!ignored.isEmpty()) {
            log.warn("capture.mode=wal ignores {}: changes come from the WAL, not from a tracking column "
                    + "(snapshot.mode=never streams from the slot's position)", String.join(", ", ignored));
        }
    }

    public static List<Problem> check(Connection connection, PgKeysetConfig config, List<CapturedTable> tables,
                                      Optional<Integer> tasksMax) throws SQLException {
        List<Problem> problems = configProblems(config, tasksMax);
        if (config.snapshotMode() == SnapshotMode.INITIAL_ONLY) {
            return problems;
        }
        String slotName = config.slotName();
        ReplicationServer.Facts server = ReplicationServer.read(connection);
        Optional<ReplicationSlot.State> slot = new ReplicationSlot(slotName).describe(connection);
        WalSetupChecks.walLevel(server.walLevel()).ifPresent(problems::add);
        WalSetupChecks.standby(server.inRecovery(), server.serverVersion(), config.publicationAutocreate())
                .ifPresent(problems::add);
        WalSetupChecks.replicationRole(server.role(), server.superuser(), server.replication())
                .ifPresent(problems::add);
        WalSetupChecks.watermarks(config.snapshotChunked() && config.snapshotMode() != SnapshotMode.NEVER
                && !server.inRecovery(), server.canEmitMessages(), server.role()).ifPresent(problems::add);
        WalSetupChecks.slotCapacity(slotName, slot.isPresent(), server.maxReplicationSlots(),
                server.slotsInUse(), server.inactiveSlots()).ifPresent(problems::add);
        WalSetupChecks.walSenderCapacity(server.maxWalSenders(), server.walSendersInUse(),
                slot.map(ReplicationSlot.State::active).orElse(false)).ifPresent(problems::add);
        slot.flatMap(s -> WalSetupChecks.existingSlot(slotName, s.type(), s.plugin(), s.database(),
                s.walStatus(), server.database())).ifPresent(problems::add);
        problems.addAll(publicationProblems(connection, config, tables, server));
        return problems;
    }

    private static List<Problem> publicationProblems(Connection connection, PgKeysetConfig config,
                                                     List<CapturedTable> tables, ReplicationServer.Facts server)
            throws SQLException {
        String name = config.publicationName();
        Optional<PublicationFacts> publication = PublicationFacts.read(connection, name, server.serverVersion());
        if (config.publicationAutocreate() == PublicationAutocreate.DISABLED) {
            return PublicationChecks.userPublication(name, publication,
                    tables.stream().map(t -> PublicationChecks.Captured.of(t.info())).toList());
        }
        List<Problem> problems = new ArrayList<>();
        Set<String> notOwned = PublicationFacts.notOwned(connection, tables.stream().map(t -> t.info().id()).toList())
                .stream().map(TableId::toString).collect(Collectors.toCollection(java.util.TreeSet::new));
        problems.addAll(WalSetupChecks.filteredPublication(name, server.role(), server.database(), server.superuser(),
                server.canCreateInDatabase(), publication.isPresent(),
                publication.map(PublicationFacts::ownedByRole).orElse(false),
                publication.map(PublicationFacts::allTables).orElse(false), notOwned));
        // Nothing else of an existing publication is a problem here: the task's ensureFiltered sets
        // its tables (dropping column lists and row filters) and its options (every operation, via
        // the partition root) before the slot streams, so refusing them would refuse a setup that works.
        return problems;
    }
}
