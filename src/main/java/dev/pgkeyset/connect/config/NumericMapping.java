package dev.pgkeyset.connect.config;

/** How PostgreSQL {@code numeric} values are represented in Connect records. */
public enum NumericMapping {
    /** Connect {@code Decimal} where the column declares a scale; exact decimal string otherwise. */
    PRECISE,
    /** FLOAT64: compact, but loses digits beyond a double's precision. */
    DOUBLE,
    /** The exact decimal text, e.g. {@code "12.3400"}. */
    STRING;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static NumericMapping parse(String value) {
        return ConfigEnums.parse(NumericMapping.class, "numeric mapping", value);
    }

    public static String[] names() {
        return ConfigEnums.names(NumericMapping.class);
    }
}
