package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

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
                   has_database_privilege(current_database(), 'CREATE'), current_database(),
                   (SELECT coalesce(bool_or(has_function_privilege(p.oid, 'EXECUTE')), false) FROM pg_proc p
                     WHERE p.proname = 'pg_logical_emit_message' AND p.pronamespace = 'pg_catalog'::regnamespace
                       AND 'bytea'::regtype::oid = ANY (p.proargtypes::oid[]))
              FROM pg_roles r WHERE r.rolname = current_user
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
     * @param canEmitMessages whether the role may run pg_logical_emit_message's bytea form (PUBLIC may, unless
     *                        revoked; its signature gained a fourth argument, flush, in PostgreSQL 17):
     *                        the chunked snapshot's watermarks and the heartbeats need it
     */
    public record Facts(String walLevel, int serverVersion, boolean inRecovery, String role, boolean superuser,
                        boolean replication, int maxReplicationSlots, int slotsInUse, List<String> inactiveSlots,
                        int maxWalSenders, int walSendersInUse, boolean canCreateInDatabase, String database,
                        boolean canEmitMessages) {
    }

    /** The server-wide facts; this connector's own slot is read by {@code changes.wal.ReplicationSlot#describe}. */
    public static Facts read(Connection connection) throws SQLException {
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
                    rs.getBoolean(11), rs.getString(12), rs.getBoolean(13));
        }
    }
}
