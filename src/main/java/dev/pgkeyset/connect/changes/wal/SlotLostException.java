package dev.pgkeyset.connect.changes.wal;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * The slot the task streams from is gone (dropped) or can no longer stream ({@code wal_status =
 * 'lost'}: the server removed WAL it still needed). Changes after the last committed offset may
 * be lost for good, so the task must fail rather than go on: only a new snapshot can make the
 * topics equal to the tables again.
 */
public final class SlotLostException extends ConnectException {

    private static final long serialVersionUID = 1L;

    public SlotLostException(String message) {
        super(message);
    }

    public SlotLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
