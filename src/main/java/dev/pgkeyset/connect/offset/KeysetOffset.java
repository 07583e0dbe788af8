package dev.pgkeyset.connect.offset;

import java.util.List;
import java.util.Objects;

/**
 * A table's position: the phase, the columns the position is expressed in (so an offset taken
 * over one key is never applied to another), and their values in the last row delivered. Values
 * are JSON scalars (Long, Boolean, String) that PostgreSQL casts back exactly. In the change phase
 * the columns are the tracking column followed by the key. {@code changesFrom}, when set, is where
 * the change phase will start once the snapshot is done: the horizon taken before the snapshot
 * began, so that nothing written during the snapshot is lost. {@code split}, in the offsets of a
 * key range of a large table, is how that table is cut into ranges.
 */
public record KeysetOffset(Phase phase, List<String> keyColumns, List<Object> key, String changesFrom,
                           KeySplit split) {

    public KeysetOffset(Phase phase, List<String> keyColumns, List<Object> key) {
        this(phase, keyColumns, key, null, null);
    }

    public KeysetOffset(Phase phase, List<String> keyColumns, List<Object> key, String changesFrom) {
        this(phase, keyColumns, key, changesFrom, null);
    }

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
