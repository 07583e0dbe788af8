package dev.pgkeyset.connect.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/** A database of one test class's own. */
public final class TestDatabase implements AutoCloseable {

    private final PostgresFixture.Server server;
    private final String name;

    TestDatabase(PostgresFixture.Server server, String name) {
        this.server = server;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public String jdbcUrl() {
        return server.jdbcUrl(name);
    }

    public String user() {
        return server.user();
    }

    public String password() {
        return server.password();
    }

    /** The connection keys of a connector config pointing at this database. */
    public Map<String, String> connectionProps() {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", jdbcUrl());
        props.put("connection.user", user());
        if (password() != null) {
            props.put("connection.password", password());
        }
        return props;
    }

    /**
     * A connector config reading this database: the connection keys, the connector class, the
     * include list and topic prefix, snapshot-only mode, and topics created by the worker.
     */
    public Map<String, String> connectorConfig(String topicPrefix, String includeList) {
        Map<String, String> config = connectionProps();
        config.put("connector.class", "dev.pgkeyset.connect.PgKeysetSourceConnector");
        config.put("table.include.list", includeList);
        config.put("topic.prefix", topicPrefix);
        config.put("snapshot.mode", "initial_only");
        // The test broker does not create topics on its own; the worker does, with these settings.
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        return config;
    }

    /** An autocommit connection for setting up and checking data. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), PostgresFixture.credentials(server));
    }

    public void execute(String... statements) {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed: " + e.getMessage(), e);
        }
    }

    public long queryLong(String sql) {
        try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed: " + e.getMessage(), e);
        }
    }

    /**
     * A new pgoutput slot with a publication of the same unique name ({@code <database>_s<n>}) for
     * {@code tables} (quoted names; none: {@code FOR ALL TABLES}). Close it in a finally or an
     * {@code @AfterEach}; {@link #close()} drops any slot left over all the same.
     */
    public TestSlot createSlot(String... tables) {
        String base = name.length() > 50 ? name.substring(0, 50) : name;
        return TestSlot.create(this, base + "_s" + slots.incrementAndGet(), java.util.List.of(tables));
    }

    private final java.util.concurrent.atomic.AtomicInteger slots = new java.util.concurrent.atomic.AtomicInteger();

    /** Drops the database, and first its replication slots (PostgreSQL refuses to drop a database that has one). */
    @Override
    public void close() {
        try (Connection admin = PostgresFixture.adminConnection(server); Statement st = admin.createStatement()) {
            TestSlot.dropSlotsOf(admin, name);
            st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (SQLException e) {
            throw new IllegalStateException("Could not drop test database " + name + ": " + e.getMessage(), e);
        }
    }
}
