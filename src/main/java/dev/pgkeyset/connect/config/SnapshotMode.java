package dev.pgkeyset.connect.config;

import java.util.Arrays;
import java.util.Locale;

/** What a task does with a table before (or instead of) following its changes. */
public enum SnapshotMode {
    /** Copy the table, then follow its changes. */
    INITIAL,
    /** Copy the table, then stay idle for it. */
    INITIAL_ONLY,
    /** Skip the copy; follow changes only. */
    NEVER;

    /** The name a user types in {@code snapshot.mode}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static SnapshotMode parse(String value) {
        for (SnapshotMode mode : values()) {
            if (mode.configName().equalsIgnoreCase(value.trim())) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown snapshot mode '" + value + "'; expected one of " + names());
    }

    public static String[] names() {
        return Arrays.stream(values()).map(SnapshotMode::configName).toArray(String[]::new);
    }
}
