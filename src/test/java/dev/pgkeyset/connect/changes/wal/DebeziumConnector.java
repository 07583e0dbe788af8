package dev.pgkeyset.connect.changes.wal;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;

import dev.pgkeyset.connect.testing.TestDatabase;

/** Debezium 3.7's PostgreSQL connector, configured for a side-by-side comparison with this one. */
final class DebeziumConnector {

    private DebeziumConnector() {
    }

    /**
     * Its config on {@code db}: topic prefix {@code dbz}, pgoutput, its own slot and publication
     * named {@code slot} (filtered to {@code tables}, Debezium's comma-separated list), one task.
     */
    static Map<String, String> config(TestDatabase db, String slot, String tables, String snapshotMode) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        URI url = URI.create(db.jdbcUrl().substring("jdbc:".length()));
        config.put("database.hostname", url.getHost());
        config.put("database.port", Integer.toString(url.getPort() < 0 ? 5432 : url.getPort()));
        config.put("database.user", db.user());
        if (db.password() != null) {
            config.put("database.password", db.password());
        }
        config.put("database.dbname", db.name());
        config.put("topic.prefix", "dbz");
        config.put("table.include.list", tables);
        config.put("plugin.name", "pgoutput");
        config.put("slot.name", slot);
        config.put("publication.name", slot);
        config.put("publication.autocreate.mode", "filtered");
        config.put("snapshot.mode", snapshotMode);
        config.put("tasks.max", "1");
        config.put("topic.creation.default.replication.factor", "1");
        config.put("topic.creation.default.partitions", "1");
        return config;
    }
}
