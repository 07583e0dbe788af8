package dev.pgkeyset.connect.pg;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

import javax.sql.DataSource;

/**
 * What HikariCP takes connections from, holding the driver's properties (passwords included) where
 * HikariCP cannot print them. Given a JDBC URL and data source properties instead, HikariCP logs
 * its whole configuration at DEBUG when a pool starts, masking only a property named
 * {@code password}: {@code sslpassword} from connection.url would be printed in clear. Here it
 * prints this object's {@link #toString()}, which shows the URL without its secrets and no property.
 */
final class SecretKeepingDataSource implements DataSource {

    private final String url;
    private final Properties properties;

    /** @param url the driver's URL, secrets already taken out (they are in {@code properties}) */
    SecretKeepingDataSource(String url, Properties properties) {
        this.url = url;
        this.properties = properties;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return DriverManager.getConnection(url, properties);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        throw new SQLFeatureNotSupportedException("the connector's pool connects as connection.user only");
    }

    /** The connect and login deadlines are the driver's own properties (connectTimeout, loginTimeout). */
    @Override
    public void setLoginTimeout(int seconds) {
    }

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        throw new SQLException("not a wrapper");
    }

    @Override
    public boolean isWrapperFor(Class<?> type) {
        return false;
    }

    @Override
    public String toString() {
        return "pgjdbc data source for " + JdbcUrls.redact(url);
    }
}
