package dev.pgkeyset.connect.changes.wal;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.pg.SqlErrors;

/**
 * Sorts what can go wrong with a slot's stream into the three things a reader does about it:
 * <ul>
 * <li>retry with the task's backoff ({@code task/RetryPolicy}): the walsender was terminated, the
 *     server restarted, the network failed, an {@link SqlErrors#isTransient transient} state;</li>
 * <li>wait and retry without limit: {@link SlotInUseException}, the slot is held by another pid;</li>
 * <li>fail the task: {@link SlotLostException} (slot dropped or its WAL removed), or a
 *     {@link ConnectException} for a publication that is gone.</li>
 * </ul>
 */
public final class WalStreamFaults {

    /** PostgreSQL: {@code replication slot "x" is active for PID 1234}. */
    private static final Pattern ACTIVE_PID = Pattern.compile("active for PID (\\d+)");

    private WalStreamFaults() {
    }

    /**
     * What an error from starting or reading the stream means: a {@link SlotInUseException},
     * a {@link SlotLostException} or publication {@link ConnectException} (thrown by the caller
     * as they are: both are unchecked), or {@code error} itself (transient or not per
     * {@link SqlErrors#isTransient}).
     */
    public static Exception classify(SQLException error, String slot, String publication) {
        String state = error.getSQLState();
        String message = String.valueOf(error.getMessage());
        if (error instanceof SlotInUseException) {
            return error;
        }
        if (SqlErrors.isObjectInUse(error)) {
            return new SlotInUseException(slot, activePid(message), error);
        }
        if ("42704".equals(state) && message.contains("replication slot")) {
            return slotMissing(slot, error);
        }
        if ("55000".equals(state) && isInvalidatedSlot(message)) {
            return slotLost(slot, error);
        }
        if ("42704".equals(state) && message.contains("publication")) {
            return publicationMissing(publication, error);
        }
        return error;
    }

    /** Throws what {@link #classify} gives: the unchecked faults as they are, SQLExceptions as such. */
    public static SQLException rethrow(SQLException error, String slot, String publication) {
        Exception classified = classify(error, slot, publication);
        if (classified instanceof RuntimeException unchecked) {
            throw unchecked;
        }
        return (SQLException) classified;
    }

    /**
     * START_REPLICATION of an invalidated slot: PostgreSQL 16 on says "can no longer get changes
     * from replication slot", 13 to 15 "cannot read from logical replication slot" (both 55000,
     * with the detail that it was invalidated). The stream looks at pg_replication_slots before
     * it starts, but the checkpointer can invalidate the slot in between, and then only this
     * error tells; unrecognised, it failed the task without the way to recover.
     */
    private static boolean isInvalidatedSlot(String message) {
        return message.contains("can no longer get changes from replication slot")
                || message.contains("cannot read from logical replication slot");
    }

    static Integer activePid(String message) {
        Matcher m = ACTIVE_PID.matcher(message);
        return m.find() ? Integer.valueOf(m.group(1)) : null;
    }

    private static final String RECOVER = " Changes made since the connector's last committed offset can no longer be "
            + "streamed, so the task stops rather than skip them. To recover, take a new snapshot: stop the connector, "
            + "delete its offsets (DELETE /connectors/<name>/offsets on a stopped connector), and start it again; it "
            + "creates the slot and copies the tables anew. (Creating the slot again by hand and keeping the offsets "
            + "resumes at the new slot's position and silently misses the changes in between.)";

    public static SlotLostException slotMissing(String slot, Throwable cause) {
        return new SlotLostException("Replication slot '" + slot + "' does not exist any more: it was dropped "
                + "(pg_drop_replication_slot) or never created on this server (a failover to a standby that has no "
                + "copy of it)." + RECOVER, cause);
    }

    public static SlotLostException slotLost(String slot) {
        return slotLost(slot, null);
    }

    public static SlotLostException slotLost(String slot, Throwable cause) {
        return new SlotLostException("Replication slot '" + slot + "' is invalidated (wal_status = 'lost'): the "
                + "server removed WAL it still needed, because the slot retained more than max_slot_wal_keep_size."
                + RECOVER + " Drop the lost slot first: SELECT pg_drop_replication_slot('" + slot + "')", cause);
    }

    public static ConnectException publicationMissing(String publication, Throwable cause) {
        return new ConnectException("Publication '" + publication + "' does not exist (dropped by hand?): the slot "
                + "cannot decode changes without it. With publication.autocreate=filtered the task creates it again "
                + "when restarted; with disabled, create it (CREATE PUBLICATION ... FOR TABLE ...) and restart the "
                + "task. A slot decodes each change with the publications that existed when it was written, so if the "
                + "task keeps failing with this message after that, take a new snapshot: stop the connector, delete "
                + "its offsets and its slot (SELECT pg_drop_replication_slot('<slot.name>')), and start it again", cause);
    }
}
