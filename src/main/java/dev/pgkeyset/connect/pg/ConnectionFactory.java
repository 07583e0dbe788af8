package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.Version;

/**
 * Opens connections the connector's way: read-only, read committed, autocommit off (pgjdbc
 * streams a cursor only then), binary transfer from the first execution, the session settings of
 * {@link SessionOptions} as startup options, a deadline on every network read, and an
 * {@code application_name} a DBA can see in {@code pg_stat_activity}. Parameters in the user's URL
 * win over these defaults, except that the user's {@code options} are merged with ours.
 */
public final class ConnectionFactory implements AutoCloseable {

    /** What {@code pg_stat_activity.application_name} shows for our sessions. */
    public static final String APPLICATION_NAME = "kafka-connect-pg-keyset";

    /**
     * Most connections one task's pool opens: its readers take turns, one cursor at a time as a
     * rule; the second lets a table whose cursor is open across polls stay open while another
     * table's change query runs.
     */
    public static final int MAX_PER_TASK = 2;

    /** An idle pooled connection is closed after this (HikariCP's floor is 10 s; its housekeeping runs every 30 s). */
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** Connections are renewed at this age, between two uses. */
    static final Duration MAX_LIFETIME = Duration.ofMinutes(30);
    /** Connecting (TCP and login) to a database that does not answer gives up after this. */
    static final int LOGIN_TIMEOUT_SECONDS = 5;

    /**
     * The most bytes of rows one round trip of a task's cursor may bring into the heap: a quarter of
     * the JVM's max heap. The fetch size is learned from the width of the rows before (see
     * task.FetchSizer), so narrow rows followed by wide ones make a fetch of many wide rows; pgjdbc
     * buffers a whole fetch before handing over its first row, and only this limit stops it before
     * the heap runs out (task.TableReader then reads on one row at a time).
     */
    static final int RESULT_BUFFER_HEAP_FRACTION = 4;

    private final HikariDataSource pool;
    /** The pgjdbc maxResultBuffer of this pool's connections, in bytes; -1 when unlimited. */
    private final long resultBufferLimit;

    private ConnectionFactory(HikariDataSource pool, long resultBufferLimit) {
        this.pool = pool;
        this.resultBufferLimit = resultBufferLimit;
    }

    /** The limit of {@link #RESULT_BUFFER_HEAP_FRACTION} for this JVM. */
    static long resultBufferLimitOfThisHeap() {
        return Runtime.getRuntime().maxMemory() / RESULT_BUFFER_HEAP_FRACTION;
    }

    /** Connections a task with {@code readers} tables or key ranges opens at most. */
    public static int connectionsPerTask(int readers) {
        return Math.max(1, Math.min(MAX_PER_TASK, readers));
    }

    /** A small pool for one task reading {@code readers} tables or key ranges. */
    public static ConnectionFactory forTask(PgKeysetConfig config, String name, int readers) {
        DriverUrl url = DriverUrl.of(config.connectionUrl());
        Properties props = driverProperties(config, url, LOGIN_TIMEOUT_SECONDS);
        long resultBufferLimit = resultBufferLimitOfThisHeap();
        // Only the task's connections: theirs are the cursors over user tables. pgjdbc counts the
        // column bytes of one round trip's DataRows (the counter restarts with each fetch) and
        // throws 08S01 when they pass the limit, before the heap runs out; the catalog and horizon
        // queries these connections also run return far less. The connector's own connections
        // (openOnce: discovery, validation, splits) read only the catalog and get no limit.
        props.setProperty("maxResultBuffer", Long.toString(resultBufferLimit));
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName(name);
        // Not setJdbcUrl + setDataSourceProperties: HikariCP prints those at DEBUG, sslpassword in clear.
        hikari.setDataSource(new SecretKeepingDataSource(url.url(), props));
        hikari.setAutoCommit(false);
        hikari.setReadOnly(true);
        hikari.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        hikari.setMaximumPoolSize(connectionsPerTask(readers));
        hikari.setMinimumIdle(0);
        hikari.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        hikari.setMaxLifetime(MAX_LIFETIME.toMillis());
        // A database that is down when the task starts is a retriable condition for the reader,
        // not a reason to fail the task in its constructor.
        hikari.setInitializationFailTimeout(-1);
        // poll() must return regularly (stop() runs on its thread): a database that is down costs
        // a poll at most this long, then the table's backoff takes over.
        hikari.setConnectionTimeout(LOGIN_TIMEOUT_SECONDS * 1000L);
        return new ConnectionFactory(new HikariDataSource(hikari), resultBufferLimit);
    }

    public Connection open() throws SQLException {
        return pool.getConnection();
    }

    /** What one round trip of a cursor on these connections may hold (pgjdbc's maxResultBuffer), in bytes. */
    public long resultBufferLimit() {
        return resultBufferLimit;
    }

    /**
     * Closes a connection instead of giving it back to the pool: after pgjdbc stopped reading in the
     * middle of a message (a fetch over {@link #resultBufferLimit()}), the connection is out of step
     * with the server, and whoever took it next would read the rest of that message as replies.
     */
    public void discard(Connection connection) {
        pool.evictConnection(connection);
    }

    /** A single unpooled read-only connection, for the connector's catalog reads and validation. */
    public static Connection openOnce(PgKeysetConfig config, int connectTimeoutSeconds) throws SQLException {
        DriverUrl url = DriverUrl.of(config.connectionUrl());
        Properties props = driverProperties(config, url, connectTimeoutSeconds);
        Connection connection = DriverManager.getConnection(url.url(), props);
        try {
            connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            connection.setReadOnly(true);
            connection.setAutoCommit(false);
            return connection;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * A logical replication connection ({@code replication=database}) for the WAL stream, with the
     * same login, session settings (plus {@link SessionOptions#REPLICATION_PINNED}: the walsender
     * runs the output functions whose text the WAL reader parses), read deadline and TCP
     * keepalive as every other connection. The replication protocol accepts only simple queries.
     * Autocommit stays on: a walsender session has no use for transactions. Its sockets come from
     * {@link ActivitySocketFactory}, so the stream can tell a quiet server from a dead network
     * (unless the URL names a {@code socketFactory} of its own, which wins).
     */
    public static ReplicationConnection openReplication(PgKeysetConfig config) throws SQLException {
        return openReplication(config, LOGIN_TIMEOUT_SECONDS);
    }

    /** As {@link #openReplication(PgKeysetConfig)}, giving up connecting after {@code connectTimeoutSeconds}. */
    public static ReplicationConnection openReplication(PgKeysetConfig config, int connectTimeoutSeconds)
            throws SQLException {
        DriverUrl url = DriverUrl.of(config.connectionUrl());
        Properties props = driverProperties(config, url, connectTimeoutSeconds);
        String activityKey = ActivitySocketFactory.newKey();
        props.setProperty("socketFactory", ActivitySocketFactory.class.getName());
        props.setProperty("socketFactoryArg", activityKey);
        props.setProperty("options", SessionOptions.mergedForReplication(url.userOptions()));
        props.setProperty("replication", "database");
        props.setProperty("preferQueryMode", "simple");
        // pgjdbc's startup queries of server parameters are not allowed on a walsender; logical
        // replication needs PostgreSQL 10+ for pgoutput anyway.
        props.setProperty("assumeMinServerVersion", "10");
        props.remove("prepareThreshold");
        try {
            return new ReplicationConnection(DriverManager.getConnection(url.url(), props), activityKey);
        } catch (SQLException | RuntimeException e) {
            ActivitySocketFactory.unregister(activityKey);
            throw e;
        }
    }

    /**
     * The URL as the driver gets it: without the secrets written in it (they go to the driver as
     * properties, so no URL it prints holds them) and without the user's {@code options} (merged
     * with ours into one property, see {@link SessionOptions}).
     */
    private record DriverUrl(String url, Properties secrets, String userOptions) {
        static DriverUrl of(String configured) {
            JdbcUrls.ForDriver withoutSecrets = JdbcUrls.forDriver(configured);
            SessionOptions.SplitUrl withoutOptions = SessionOptions.split(withoutSecrets.url());
            return new DriverUrl(withoutOptions.url(), withoutSecrets.secrets(), withoutOptions.userOptions());
        }
    }

    private static Properties driverProperties(PgKeysetConfig config, DriverUrl url, int connectTimeoutSeconds) {
        Properties props = new Properties();
        props.setProperty("ApplicationName", APPLICATION_NAME + "/" + Version.get());
        // Binary transfer needs a server-prepared statement; -1 prepares on the first execution,
        // and a cursor is executed once.
        props.setProperty("prepareThreshold", "-1");
        props.setProperty("options", SessionOptions.merged(url.userOptions()));
        // Without a read deadline a network that stops passing bytes (a firewall dropping its
        // state, a frozen proxy) blocks the poll thread for good, and stop() with it. Keepalives
        // only notice a dead peer, and only after the OS's idle time.
        props.setProperty("socketTimeout", Long.toString(socketTimeoutSeconds(config.socketTimeout())));
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        props.setProperty("loginTimeout", Integer.toString(connectTimeoutSeconds));
        if (config.user() != null) {
            props.setProperty("user", config.user());
        }
        if (config.password() != null) {
            props.setProperty("password", config.password().value());
        }
        props.putAll(url.secrets()); // a URL parameter wins, as it does in pgjdbc
        return props;
    }

    /** pgjdbc counts whole seconds; 0 means no deadline. */
    static long socketTimeoutSeconds(Duration timeout) {
        return (timeout.toMillis() + 999) / 1000;
    }

    @Override
    public void close() {
        pool.close();
    }
}
