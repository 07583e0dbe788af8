package dev.pgkeyset.connect.config;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import dev.pgkeyset.connect.pg.JdbcUrls;

/** Accepts only pgjdbc URLs, so a MySQL or bare host:port value fails at validation, not at first connect. */
final class JdbcUrlValidator implements ConfigDef.Validator {

    static final String PREFIX = "jdbc:postgresql:";

    @Override
    public void ensureValid(String name, Object value) {
        // The value is shown masked: it may hold a password, and this message reaches the REST answer.
        if (value == null || !((String) value).trim().startsWith(PREFIX)) {
            throw new ConfigException(name, JdbcUrls.redact((String) value),
                    "expected a PostgreSQL JDBC URL such as 'jdbc:postgresql://localhost:5432/mydb'");
        }
        if (JdbcUrls.hasUserInfo((String) value)) {
            // pgjdbc takes "user:password@host" for a host name (and repeats it in its errors).
            throw new ConfigException(name, JdbcUrls.redact((String) value), "a user or password before the host "
                    + "(user:password@host) is not read by the PostgreSQL JDBC driver; set connection.user and "
                    + "connection.password instead (write an '@' in a database name as %40)");
        }
    }

    @Override
    public String toString() {
        return "jdbc:postgresql://host:port/database[?params]";
    }
}
