package dev.pgkeyset.connect.config;

/** What a record's value holds: the row alone, or Debezium's change-event envelope around it. */
public enum RecordFormat {
    /** The row's columns as a flat Struct; a delete is a tombstone. */
    ROW,
    /** A Struct with before, after, source, op and ts_ms, under Debezium's field names. */
    ENVELOPE;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static RecordFormat parse(String value) {
        return ConfigEnums.parse(RecordFormat.class, "record format", value);
    }

    public static String[] names() {
        return ConfigEnums.names(RecordFormat.class);
    }
}
