package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.Version;

/**
 * Opens connections the connector's way: read-only, autocommit off (pgjdbc streams a cursor only
 * then), binary transfer from the first execution, and an {@code application_name} a DBA can see in
 * {@code pg_stat_activity}. Parameters in the user's URL win over these defaults.
 */
public final class ConnectionFactory implements AutoCloseable {

    /** What {@code pg_stat_activity.application_name} shows for our sessions. */
    public static final String APPLICATION_NAME = "kafka-connect-pg-keyset";

    private final HikariDataSource pool;

    private ConnectionFactory(HikariDataSource pool) {
        this.pool = pool;
    }

    /** A small pool for one task: it reads one table at a time, so two connections are plenty. */
    public static ConnectionFactory forTask(PgKeysetConfig config, String name) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName(name);
        JdbcUrls.ForDriver url = JdbcUrls.forDriver(config.connectionUrl());
        hikari.setJdbcUrl(url.url());
        hikari.setDataSourceProperties(driverProperties(config, url));
        hikari.setAutoCommit(false);
        hikari.setReadOnly(true);
        hikari.setMaximumPoolSize(2);
        hikari.setConnectionInitSql(SESSION_SETTINGS);
        hikari.setMinimumIdle(0);
        // A database that is down when the task starts is a retriable condition for the reader,
        // not a reason to fail the task in its constructor.
        hikari.setInitializationFailTimeout(-1);
        // poll() must return regularly (stop() runs on its thread): a database that is down costs
        // a poll at most this long, then the table's backoff takes over.
        hikari.setConnectionTimeout(5_000);
        return new ConnectionFactory(new HikariDataSource(hikari));
    }

    /**
     * Output formats some column mappings rely on, whatever the role or database defaults say:
     * intervals in ISO 8601 (exact, and what consumers parse) and bytea in hex (array elements).
     */
    static final String SESSION_SETTINGS = "SET IntervalStyle = 'iso_8601'; SET bytea_output = 'hex'";

    public Connection open() throws SQLException {
        return pool.getConnection();
    }

    /** A single unpooled read-only connection, for the connector's catalog reads and validation. */
    public static Connection openOnce(PgKeysetConfig config, int connectTimeoutSeconds) throws SQLException {
        JdbcUrls.ForDriver url = JdbcUrls.forDriver(config.connectionUrl());
        Properties props = driverProperties(config, url);
        props.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        props.setProperty("loginTimeout", Integer.toString(connectTimeoutSeconds));
        Connection connection = DriverManager.getConnection(url.url(), props);
        try {
            connection.setReadOnly(true);
            connection.setAutoCommit(false);
            return connection;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /** Secrets written in the URL go to the driver as properties, so no URL it prints holds them. */
    private static Properties driverProperties(PgKeysetConfig config, JdbcUrls.ForDriver url) {
        Properties props = new Properties();
        props.setProperty("ApplicationName", APPLICATION_NAME + "/" + Version.get());
        // Binary transfer needs a server-prepared statement; -1 prepares on the first execution,
        // and a cursor is executed once.
        props.setProperty("prepareThreshold", "-1");
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("connectTimeout", "5");
        if (config.user() != null) {
            props.setProperty("user", config.user());
        }
        if (config.password() != null) {
            props.setProperty("password", config.password().value());
        }
        props.putAll(url.secrets()); // a URL parameter wins, as it does in pgjdbc
        return props;
    }

    @Override
    public void close() {
        pool.close();
    }
}
