package dev.pgkeyset.connect.config;

/** Where the change phase starts when there is no snapshot ({@code snapshot.mode=never}). */
public enum IncrementalStart {
    /** From the smallest tracking value: every row, in (tracking column, key) order. */
    EARLIEST,
    /** From the horizon at the moment the table is first read. */
    NOW;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static IncrementalStart parse(String value) {
        return ConfigEnums.parse(IncrementalStart.class, "start", value);
    }

    public static String[] names() {
        return ConfigEnums.names(IncrementalStart.class);
    }
}
