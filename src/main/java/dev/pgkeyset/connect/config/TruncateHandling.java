package dev.pgkeyset.connect.config;

/** What a TRUNCATE of a captured table becomes in capture.mode=wal. */
public enum TruncateHandling {
    /** One record with header pgkeyset.op=t and a null key and value on the table's topic. */
    EVENT,
    /** Nothing is sent; a warning names the table and the WAL position. */
    SKIP,
    /** The task fails naming the table, so that nothing changes meaning unnoticed. */
    FAIL;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static TruncateHandling parse(String value) {
        return ConfigEnums.parse(TruncateHandling.class, "truncate handling", value);
    }

    public static String[] names() {
        return ConfigEnums.names(TruncateHandling.class);
    }
}
