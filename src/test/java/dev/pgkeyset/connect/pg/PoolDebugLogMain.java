package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;

import dev.pgkeyset.connect.config.PgKeysetConfig;

/**
 * Run by {@link PoolDebugLogIT} in a JVM whose HikariCP loggers are at DEBUG: opens a task's pool
 * with a connection.url and connection.password holding secrets, takes one connection, closes all.
 * Args: url (with its secrets), user, connection.password.
 */
public final class PoolDebugLogMain {

    public static void main(String[] args) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", args[0]);
        props.put("connection.user", args[1]);
        props.put("connection.password", args[2]);
        props.put("table.include.list", "public\\.t");
        props.put("topic.prefix", "p");
        PgKeysetConfig config = new PgKeysetConfig(props);
        try (ConnectionFactory pool = ConnectionFactory.forTask(config, "debug-log-pool", 1);
             Connection connection = pool.open()) {
            connection.rollback();
        }
        System.out.println("pool opened and closed");
        System.exit(0);
    }
}
