package dev.pgkeyset.connect.config;

import java.util.Arrays;
import java.util.Locale;

/** Where the change phase starts when there is no snapshot ({@code snapshot.mode=never}). */
public enum IncrementalStart {
    /** From the smallest tracking value: every row, in (tracking column, key) order. */
    EARLIEST,
    /** From the horizon at the moment the table is first read. */
    NOW;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static IncrementalStart parse(String value) {
        for (IncrementalStart start : values()) {
            if (start.configName().equalsIgnoreCase(value.trim())) {
                return start;
            }
        }
        throw new IllegalArgumentException("unknown start '" + value + "'; expected one of " + names());
    }

    public static String[] names() {
        return Arrays.stream(values()).map(IncrementalStart::configName).toArray(String[]::new);
    }
}
