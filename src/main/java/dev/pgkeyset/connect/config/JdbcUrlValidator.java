package dev.pgkeyset.connect.config;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/** Accepts only pgjdbc URLs, so a MySQL or bare host:port value fails at validation, not at first connect. */
final class JdbcUrlValidator implements ConfigDef.Validator {

    static final String PREFIX = "jdbc:postgresql:";

    @Override
    public void ensureValid(String name, Object value) {
        if (value == null || !((String) value).trim().startsWith(PREFIX)) {
            throw new ConfigException(name, value,
                    "expected a PostgreSQL JDBC URL such as 'jdbc:postgresql://localhost:5432/mydb'");
        }
    }

    @Override
    public String toString() {
        return "jdbc:postgresql://host:port/database[?params]";
    }
}
