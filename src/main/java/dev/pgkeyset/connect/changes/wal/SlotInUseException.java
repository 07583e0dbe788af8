package dev.pgkeyset.connect.changes.wal;

import java.sql.SQLException;

/**
 * The slot is being streamed by another backend ({@code 55006 object_in_use}): usually this
 * task's own previous walsender, which lives on until {@code wal_sender_timeout} after a worker
 * was killed or a rebalance moved the task. Not a fault of the setup: wait and open again, with
 * no limit on attempts (the reader logs it, naming the pid).
 */
public final class SlotInUseException extends SQLException {

    private static final long serialVersionUID = 1L;

    private final String slot;
    private final Integer activePid;

    public SlotInUseException(String slot, Integer activePid, SQLException cause) {
        super("Replication slot '" + slot + "' is active for " + (activePid == null ? "another backend"
                : "backend pid " + activePid) + "; waiting for it to end (a walsender left by a stopped or moved task "
                + "ends after the server's wal_sender_timeout). If another connector streams this slot, give this "
                + "one a slot.name of its own", "55006", cause);
        this.slot = slot;
        this.activePid = activePid;
    }

    public String slot() {
        return slot;
    }

    /** The backend holding the slot, null when the server did not say. */
    public Integer activePid() {
        return activePid;
    }
}
