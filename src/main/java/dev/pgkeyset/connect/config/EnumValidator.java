package dev.pgkeyset.connect.config;

import java.util.function.Function;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/** Validates a string config against an enum's {@code parse}, case-insensitively, listing the choices. */
final class EnumValidator implements ConfigDef.Validator {

    private final String[] names;
    private final Function<String, ?> parser;

    private EnumValidator(String[] names, Function<String, ?> parser) {
        this.names = names;
        this.parser = parser;
    }

    static EnumValidator of(String[] names, Function<String, ?> parser) {
        return new EnumValidator(names, parser);
    }

    @Override
    public void ensureValid(String name, Object value) {
        if (value == null) {
            throw new ConfigException(name, null, "expected one of " + this);
        }
        try {
            parser.apply((String) value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name, value, "expected one of " + this);
        }
    }

    @Override
    public String toString() {
        return String.join(", ", names);
    }
}
