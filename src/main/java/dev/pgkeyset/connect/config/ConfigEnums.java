package dev.pgkeyset.connect.config;

import java.util.Arrays;
import java.util.Locale;

/** Enum values as users type them in configs: lower case, matched case-insensitively. */
final class ConfigEnums {

    private ConfigEnums() {
    }

    static String configName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    static <E extends Enum<E>> E parse(Class<E> type, String what, String value) {
        for (E candidate : type.getEnumConstants()) {
            if (configName(candidate).equalsIgnoreCase(value.trim())) {
                return candidate;
            }
        }
        throw new IllegalArgumentException("unknown " + what + " '" + value + "'; expected one of "
                + String.join(", ", names(type)));
    }

    static <E extends Enum<E>> String[] names(Class<E> type) {
        return Arrays.stream(type.getEnumConstants()).map(ConfigEnums::configName).toArray(String[]::new);
    }
}
