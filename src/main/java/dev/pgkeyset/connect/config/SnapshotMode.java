package dev.pgkeyset.connect.config;

/** What a task does with a table before (or instead of) following its changes. */
public enum SnapshotMode {
    /** Copy the table, then follow its changes. */
    INITIAL,
    /** Copy the table, then stay idle for it. */
    INITIAL_ONLY,
    /** Skip the copy; follow changes only. */
    NEVER;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static SnapshotMode parse(String value) {
        return ConfigEnums.parse(SnapshotMode.class, "snapshot mode", value);
    }

    public static String[] names() {
        return ConfigEnums.names(SnapshotMode.class);
    }
}
