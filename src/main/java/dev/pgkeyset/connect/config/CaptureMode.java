package dev.pgkeyset.connect.config;

/** Where changes come from. */
public enum CaptureMode {
    /** Query-based change capture over a tracking column (the default). */
    QUERY,
    /** Logical replication from the WAL (pgoutput). */
    WAL;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static CaptureMode parse(String value) {
        return ConfigEnums.parse(CaptureMode.class, "capture mode", value);
    }

    public static String[] names() {
        return ConfigEnums.names(CaptureMode.class);
    }
}
