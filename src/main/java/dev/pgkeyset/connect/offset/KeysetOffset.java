package dev.pgkeyset.connect.offset;

import java.util.List;
import java.util.Objects;

/**
 * A table's position: the phase, the key columns the position is expressed in (so an offset
 * taken over one key is never applied to another), and the key values of the last row delivered.
 * Key values are JSON scalars (Long, Boolean, String) that PostgreSQL casts back exactly.
 */
public record KeysetOffset(Phase phase, List<String> keyColumns, List<Object> key) {

    public KeysetOffset {
        Objects.requireNonNull(phase, "phase");
        keyColumns = List.copyOf(keyColumns);
        key = List.copyOf(key);
        if (keyColumns.size() != key.size()) {
            throw new IllegalArgumentException("the key has " + key.size() + " values for " + keyColumns.size()
                    + " key columns " + keyColumns);
        }
    }

    public boolean snapshotComplete() {
        return phase == Phase.SNAPSHOT_COMPLETE;
    }
}
