package dev.pgkeyset.connect.config;

import java.util.Arrays;
import java.util.Locale;

/** How PostgreSQL {@code numeric} values are represented in Connect records. */
public enum NumericMapping {
    /** Connect {@code Decimal} where the column declares a scale; exact decimal string otherwise. */
    PRECISE,
    /** FLOAT64: compact, but loses digits beyond a double's precision. */
    DOUBLE,
    /** The exact decimal text, e.g. {@code "12.3400"}. */
    STRING;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static NumericMapping parse(String value) {
        for (NumericMapping mapping : values()) {
            if (mapping.configName().equalsIgnoreCase(value.trim())) {
                return mapping;
            }
        }
        throw new IllegalArgumentException("unknown numeric mapping '" + value + "'; expected one of " + names());
    }

    public static String[] names() {
        return Arrays.stream(values()).map(NumericMapping::configName).toArray(String[]::new);
    }
}
