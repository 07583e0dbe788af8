package dev.pgkeyset.connect.offset;

/** Where a table's reading stands, as written into its source offset. */
public enum Phase {
    /** Copying the table in key order; {@code key} is the last key delivered. */
    SNAPSHOT("snapshot"),
    /** The copy reached the end of the table; {@code key} is its last key. Not read again. */
    SNAPSHOT_COMPLETE("snapshot_complete"),
    /** Following changes; {@code key} is the (tracking value, key…) of the last row delivered. */
    INCREMENTAL("incremental");

    private final String wireName;

    Phase(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Phase fromWire(String name) {
        for (Phase phase : values()) {
            if (phase.wireName.equals(name)) {
                return phase;
            }
        }
        throw new IllegalArgumentException("unknown phase '" + name + "'");
    }
}
