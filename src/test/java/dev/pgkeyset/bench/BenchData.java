package dev.pgkeyset.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import dev.pgkeyset.connect.testing.PostgresFixture;

/**
 * The benchmark's database: {@code pgbench_accounts} shaped as {@code pgbench -i -s N} makes it
 * (aid int primary key, bid int, abalance int, filler char(84); 100,000 rows per scale unit),
 * filled in SQL so no pgbench binary is needed. Kept between runs when its size matches.
 */
final class BenchData {

    static final String DATABASE = "pgkeyset_bench";

    private final PostgresFixture.Server server;
    private final String database;
    final long rows;

    BenchData(double scale) {
        this(scale, DATABASE);
    }

    /** The same server, another database (the WAL lines work in one of their own, see {@link WalBench}). */
    BenchData(double scale, String database) {
        this.server = PostgresFixture.server();
        this.database = database;
        this.rows = Math.max(1000, Math.round(scale * 100_000));
    }

    PostgresFixture.Server server() {
        return server;
    }

    String database() {
        return database;
    }

    String jdbcUrl() {
        return server.jdbcUrl(database);
    }

    Connection connect() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", server.user());
        if (server.password() != null) {
            props.setProperty("password", server.password());
        }
        return DriverManager.getConnection(jdbcUrl(), props);
    }

    Map<String, String> connectionProps() {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", jdbcUrl());
        props.put("connection.user", server.user());
        if (server.password() != null) {
            props.put("connection.password", server.password());
        }
        return props;
    }

    void createDatabaseIfMissing() throws SQLException {
        Properties admin = new Properties();
        admin.setProperty("user", server.user());
        if (server.password() != null) {
            admin.setProperty("password", server.password());
        }
        try (Connection c = DriverManager.getConnection(server.jdbcUrl("postgres"), admin);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + database + "'")) {
            if (!rs.next()) {
                st.execute("CREATE DATABASE " + database);
            }
        }
    }

    void prepare() throws SQLException {
        createDatabaseIfMissing();
        try (Connection c = connect(); Statement st = c.createStatement()) {
            long existing = -1;
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pgbench_accounts")) {
                rs.next();
                existing = rs.getLong(1);
            } catch (SQLException missing) {
                // not created yet
            }
            if (existing == rows) {
                System.out.printf("pgbench_accounts: %,d rows, kept from an earlier run%n", rows);
                return;
            }
            long start = System.nanoTime();
            st.execute("DROP TABLE IF EXISTS pgbench_accounts");
            st.execute("CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84))"
                    + " WITH (fillfactor = 100)");
            st.execute("INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, ''"
                    + " FROM generate_series(1, " + rows + ") g");
            st.execute("ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)");
            st.execute("VACUUM ANALYZE pgbench_accounts");
            System.out.printf("pgbench_accounts: %,d rows created in %.1f s%n", rows,
                    (System.nanoTime() - start) / 1e9);
        }
    }

    long tableBytes() throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_table_size('pgbench_accounts')")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
