package dev.pgkeyset.connect.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import dev.pgkeyset.connect.pg.Sql;

/**
 * The server- and role-wide conditions of capture.mode=wal, each a function of plain facts (read by
 * {@code pg.ReplicationServer}): wal_level and max_replication_slots cannot be changed on a shared
 * test server, so every branch is tested on the function. Each problem names the key a person
 * looks at and what to run.
 */
public final class WalSetupChecks {

    /** A problem and the key it is reported on. */
    public record Problem(String key, String message) {
    }

    /** Logical decoding on a hot standby arrived in PostgreSQL 16. */
    static final int STANDBY_DECODING_VERSION = 160000;

    private WalSetupChecks() {
    }

    static Optional<Problem> walLevel(String walLevel) {
        if ("logical".equals(walLevel)) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.CAPTURE_MODE, "wal_level is '" + walLevel + "', and "
                + "capture.mode=wal needs 'logical' (logical decoding). Run ALTER SYSTEM SET wal_level = logical as a "
                + "superuser and restart PostgreSQL (a reload is not enough), or use capture.mode=query."));
    }

    static Optional<Problem> replicationRole(String role, boolean superuser, boolean replication) {
        if (superuser || replication) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.CONNECTION_USER, "Role " + role + " may not replicate: "
                + "capture.mode=wal streams changes over a replication connection, which needs the REPLICATION "
                + "attribute (or superuser; it is not inherited through role membership). Run ALTER ROLE "
                + Sql.quoteIdentifier(role) + " REPLICATION as a superuser, or use capture.mode=query."));
    }

    /** A new slot needs a free one of max_replication_slots; an existing slot of this name needs none. */
    static Optional<Problem> slotCapacity(String slotName, boolean slotExists, int maxSlots, int slotsInUse,
                                          List<String> inactiveSlots) {
        if (slotExists || slotsInUse < maxSlots) {
            return Optional.empty();
        }
        String inactive = inactiveSlots.isEmpty() ? "every slot is in use by a walsender now"
                : "inactive now: " + Summary.join(inactiveSlots, ", ", Summary.NAMES_SHOWN);
        return Optional.of(new Problem(PgKeysetConfig.SLOT_NAME, "No replication slot is free for slot '" + slotName
                + "': max_replication_slots is " + maxSlots + " and " + slotsInUse + " slot(s) exist (" + inactive
                + "). Drop a slot nothing uses any more (SELECT pg_drop_replication_slot('<slot>')), or raise "
                + "max_replication_slots (ALTER SYSTEM SET max_replication_slots = " + (maxSlots + 1) + " and a "
                + "restart)."));
    }

    /** The task's replication connection needs a walsender, unless it replaces this slot's own. */
    static Optional<Problem> walSenderCapacity(int maxWalSenders, int walSendersInUse, boolean slotActive) {
        if (slotActive || walSendersInUse < maxWalSenders) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.CAPTURE_MODE, "No walsender is free: max_wal_senders is "
                + maxWalSenders + " and " + walSendersInUse + " are running (pg_stat_replication), and capture.mode=wal "
                + "needs one for its replication connection. Stop a replication client that is no longer needed, or "
                + "raise max_wal_senders (ALTER SYSTEM SET max_wal_senders = " + (maxWalSenders + 1)
                + " and a restart)."));
    }

    /** An existing slot of this name must be a logical pgoutput slot of this database, not invalidated. */
    static Optional<Problem> existingSlot(String slotName, String type, String plugin, String slotDatabase,
                                          String walStatus, String database) {
        Optional<Problem> foreign = foreignSlot(slotName, type, plugin, slotDatabase, database);
        if (foreign.isPresent() || !"lost".equals(walStatus)) {
            return foreign;
        }
        return slotProblem("Replication slot '" + slotName + "' is invalidated (wal_status = 'lost'): PostgreSQL "
                + "removed WAL it still needed (max_slot_wal_keep_size), so changes were lost. Drop it ("
                + dropSlot(slotName) + "), delete the connector's offsets, and start again with a snapshot "
                + "(snapshot.mode=initial).");
    }

    /**
     * A slot of this name that can never be this connector's: not logical, not pgoutput, or of
     * another database. Asked by validate() and by the task before it uses an existing slot.
     */
    public static Optional<Problem> foreignSlot(String slotName, String type, String plugin, String slotDatabase,
                                                String database) {
        String otherSlot = ": set slot.name to a slot of its own (the connector creates it), or drop this one if "
                + "nothing uses it (" + dropSlot(slotName) + ").";
        if (!"logical".equals(type)) {
            return slotProblem("Replication slot '" + slotName + "' exists but is a " + type + " slot; capture.mode=wal "
                    + "needs a logical slot of the pgoutput plugin" + otherSlot);
        }
        if (!"pgoutput".equals(plugin)) {
            return slotProblem("Replication slot '" + slotName + "' exists but uses output plugin '" + plugin
                    + "'; capture.mode=wal reads pgoutput" + otherSlot);
        }
        if (!database.equals(slotDatabase)) {
            return slotProblem("Replication slot '" + slotName + "' exists but belongs to database '" + slotDatabase
                    + "', not '" + database + "' (a logical slot streams the changes of one database)" + otherSlot);
        }
        return Optional.empty();
    }

    private static String dropSlot(String slotName) {
        return "SELECT pg_drop_replication_slot('" + slotName.replace("'", "''") + "')";
    }

    private static Optional<Problem> slotProblem(String message) {
        return Optional.of(new Problem(PgKeysetConfig.SLOT_NAME, message));
    }

    static Optional<Problem> standby(boolean inRecovery, int serverVersion, PublicationAutocreate autocreate) {
        if (!inRecovery) {
            return Optional.empty();
        }
        if (serverVersion < STANDBY_DECODING_VERSION) {
            return Optional.of(new Problem(PgKeysetConfig.CONNECTION_URL, "The server is a standby "
                    + "(pg_is_in_recovery() is true), and logical decoding on a standby needs PostgreSQL 16 or later "
                    + "(this is " + serverVersion + "): point connection.url at the primary, or use capture.mode=query."));
        }
        if (autocreate == PublicationAutocreate.FILTERED) {
            return Optional.of(new Problem(PgKeysetConfig.PUBLICATION_AUTOCREATE, "The server is a standby, which "
                    + "cannot create or alter a publication: create the publication on the primary and set "
                    + "publication.autocreate=disabled."));
        }
        return Optional.empty();
    }

    /**
     * The chunked snapshot writes its watermarks with pg_logical_emit_message, which PUBLIC may
     * run unless a DBA revoked it; the heartbeats use it too, but they can be turned off.
     */
    static Optional<Problem> watermarks(boolean chunked, boolean canEmitMessages, String role) {
        if (!chunked || canEmitMessages) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.SNAPSHOT_CHUNKED, "Role " + role + " may not run "
                + "pg_logical_emit_message, which writes the watermarks of the snapshot read in chunks beside the "
                + "stream (snapshot.chunked=true) and the heartbeats (heartbeat.interval.ms). Run GRANT EXECUTE ON "
                + "FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, bytea) TO " + Sql.quoteIdentifier(role)
                + " as a superuser (from PostgreSQL 17: pg_logical_emit_message(boolean, text, bytea, boolean)), or set snapshot.chunked=false (every snapshot then runs before the stream) and "
                + "heartbeat.interval.ms=0."));
    }

    static Optional<Problem> tasksMax(int tasksMax) {
        if (tasksMax <= 1) {
            return Optional.empty();
        }
        return Optional.of(new Problem(ConnectorValidation.TASKS_MAX, "capture.mode=wal streams one slot from one "
                + "task; set tasks.max=1 (found " + tasksMax + "). That task also takes every table's snapshot."));
    }

    static Optional<Problem> softDelete(String softDeleteColumn) {
        if (softDeleteColumn == null || softDeleteColumn.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new Problem(PgKeysetConfig.SOFT_DELETE_COLUMN, "soft.delete.column is for "
                + "capture.mode=query; with capture.mode=wal a DELETE arrives as a tombstone and an update that sets '"
                + softDeleteColumn + "' stays an ordinary update, so it would silently stop meaning a delete. Remove "
                + "soft.delete.column, or use capture.mode=query."));
    }

    /**
     * publication.autocreate=filtered: the role must be able to create the publication (CREATE on
     * the database) or alter it (own it), and to add every captured table (own it); a FOR ALL
     * TABLES publication cannot be narrowed.
     *
     * @param exists    the publication exists
     * @param owned     the role owns it (false when it does not exist)
     * @param notOwned  captured tables the role does not own
     */
    static List<Problem> filteredPublication(String publication, String role, String database, boolean superuser,
                                             boolean canCreateInDatabase, boolean exists, boolean owned,
                                             boolean allTables, Set<String> notOwned) {
        List<Problem> problems = new ArrayList<>();
        String key = PgKeysetConfig.PUBLICATION_AUTOCREATE;
        String yourself = "or create and maintain the publication yourself and set publication.autocreate=disabled.";
        if (exists && allTables) {
            problems.add(new Problem(key, "Publication '" + publication + "' is FOR ALL TABLES, which "
                    + "publication.autocreate=filtered cannot narrow to the captured tables: set "
                    + "publication.autocreate=disabled to use it as it is, or choose another publication.name."));
            return problems;
        }
        if (superuser) {
            return problems;
        }
        if (exists && !owned) {
            problems.add(new Problem(key, "Role " + role + " does not own publication '" + publication + "', so it "
                    + "cannot keep it equal to the captured tables (ALTER PUBLICATION needs its owner): run ALTER "
                    + "PUBLICATION " + Sql.quoteIdentifier(publication) + " OWNER TO " + Sql.quoteIdentifier(role)
                    + ", " + yourself));
        }
        if (!exists && !canCreateInDatabase) {
            problems.add(new Problem(key, "Role " + role + " may not create publication '" + publication + "': "
                    + "CREATE PUBLICATION needs the CREATE privilege on the database. Run GRANT CREATE ON DATABASE "
                    + Sql.quoteIdentifier(database) + " TO " + Sql.quoteIdentifier(role) + ", " + yourself));
        }
        if (!notOwned.isEmpty()) {
            problems.add(new Problem(key, "Role " + role + " does not own table(s) "
                    + Summary.join(List.copyOf(notOwned), ", ", Summary.NAMES_SHOWN) + ", and only a table's owner (or "
                    + "a superuser) may add it to a publication. Make the role a member of each owner (GRANT <owner> TO "
                    + Sql.quoteIdentifier(role) + ") or a superuser, " + yourself));
        }
        return problems;
    }
}
