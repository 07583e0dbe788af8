package dev.pgkeyset.connect.config;

/** How {@code time}, {@code timestamp} and {@code timestamptz} values are represented. */
public enum TimePrecisionMode {
    /** Connect's Time and Timestamp logical types: understood by every sink, milliseconds only. */
    CONNECT,
    /** INT64 microseconds (since the epoch, or of the day for time): PostgreSQL's full precision. */
    MICROS,
    /** PostgreSQL's text form with microseconds, e.g. {@code 2024-05-01 10:00:00.123456+00}. */
    STRING;

    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static TimePrecisionMode parse(String value) {
        return ConfigEnums.parse(TimePrecisionMode.class, "time precision mode", value);
    }

    public static String[] names() {
        return ConfigEnums.names(TimePrecisionMode.class);
    }
}
