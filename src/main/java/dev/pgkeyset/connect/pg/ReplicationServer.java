package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the server and the connector's role offer to logical replication, read on a normal
 * connection: the settings and counts that validate() compares (see
 * {@code config.WalSetupChecks}), which the checks take as plain values so each can be tested
 * without changing the server.
 */
public final class ReplicationServer {

    private static final String FACTS = """
            SELECT current_setting('wal_level'), current_setting('server_version_num')::int, pg_is_in_recovery(),
                   r.rolname, r.rolsuper, r.rolreplication,
                   current_setting('max_replication_slots')::int, (SELECT count(*) FROM pg_replication_slots),
                   current_setting('max_wal_senders')::int, (SELECT count(*) FROM pg_stat_replication),
                   has_database_privilege(current_database(), 'CREATE'), current_database()
              FROM pg_roles r WHERE r.rolname = current_user
            """;

    private static final String SLOT = """
            SELECT slot_type, plugin, database, active, wal_status
              FROM pg_replication_slots WHERE slot_name = ?
            """;

    private static final String INACTIVE_SLOTS = """
            SELECT slot_name FROM pg_replication_slots WHERE NOT active ORDER BY slot_name
            """;

    private ReplicationServer() {
    }

    /**
     * The server-wide facts.
     *
     * @param slotsInUse      rows of pg_replication_slots (each holds one of max_replication_slots)
     * @param walSendersInUse rows of pg_stat_replication (each holds one of max_wal_senders)
     * @param inactiveSlots   names of slots no walsender streams now (candidates to drop)
     * @param slot            this connector's slot, when it exists
     */
    public record Facts(String walLevel, int serverVersion, boolean inRecovery, String role, boolean superuser,
                        boolean replication, int maxReplicationSlots, int slotsInUse, List<String> inactiveSlots,
                        int maxWalSenders, int walSendersInUse, boolean canCreateInDatabase, String database,
                        Optional<Slot> slot) {
    }

    /**
     * An existing replication slot.
     *
     * @param type      'logical' or 'physical'
     * @param plugin    output plugin of a logical slot
     * @param database  database of a logical slot
     * @param walStatus pg_replication_slots.wal_status ('lost' once the WAL it needs was removed)
     */
    public record Slot(String name, String type, String plugin, String database, boolean active, String walStatus) {
    }

    public static Facts read(Connection connection, String slotName) throws SQLException {
        Optional<Slot> slot = Optional.empty();
        try (PreparedStatement st = connection.prepareStatement(SLOT)) {
            st.setString(1, slotName);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    slot = Optional.of(new Slot(slotName, rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.getBoolean(4), rs.getString(5)));
                }
            }
        }
        List<String> inactive = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(INACTIVE_SLOTS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                inactive.add(rs.getString(1));
            }
        }
        try (PreparedStatement st = connection.prepareStatement(FACTS); ResultSet rs = st.executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("the connector's role is not in pg_roles");
            }
            return new Facts(rs.getString(1), rs.getInt(2), rs.getBoolean(3), rs.getString(4), rs.getBoolean(5),
                    rs.getBoolean(6), rs.getInt(7), rs.getInt(8), List.copyOf(inactive), rs.getInt(9), rs.getInt(10),
                    rs.getBoolean(11), rs.getString(12), slot);
        }
    }
}
