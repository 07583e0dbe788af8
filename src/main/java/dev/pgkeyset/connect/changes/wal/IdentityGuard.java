package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.errors.ConnectException;

import dev.pgkeyset.connect.pg.ReplicaIdentities;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.TablePlan;
import dev.pgkeyset.connect.tables.ReplicaIdentityCheck;

/**
 * The replica identity validate() checks at the start can be changed while the task streams
 * ({@code ALTER TABLE ... REPLICA IDENTITY USING INDEX} on other columns, or {@code NOTHING} on a
 * table without updates). From then on PostgreSQL logs an update of the key alone with no old
 * key, and a delete without the key's columns: the old key's tombstone cannot be made, and would
 * be missing in silence. Each Relation message says which columns the identity holds at its WAL
 * position, so it is checked there; the task fails at the first update or delete it describes
 * (an update without its old key may have changed the key).
 *
 * <p>A partitioned table's Relation (published via its root) carries the root's identity, while
 * each leaf's own decides what is logged: for it, the leaves are checked in the catalog as
 * validate() checks them.
 */
final class IdentityGuard {

    private IdentityGuard() {
    }

    /**
     * @return the failure to raise at the relation's next update or delete (inserts carry the whole
     *         row and lose nothing), naming the table, what the identity now is, and the remedy;
     *         null while the identity contains the plan's key
     */
    static ConnectException check(TablePlan plan, PgOutputMessage.Relation relation, Connection connection)
            throws SQLException {
        List<String> key = plan.keyColumnNames();
        if (partitioned(relation.oid(), connection)) {
            Map<TableId, ReplicaIdentities.Table> facts = ReplicaIdentities.of(connection, List.of(plan.id()));
            ReplicaIdentities.Table table = facts.get(plan.id());
            if (table != null) {
                List<String> problems = ReplicaIdentityCheck.problems(plan.id(), key, false, table);
                if (!problems.isEmpty()) {
                    return changed(plan, String.join("; ", problems));
                }
            }
            return null;
        }
        if (relation.replicaIdentity() == 'f') {
            return null;
        }
        Set<String> identity = new LinkedHashSet<>();
        for (PgOutputMessage.RelationColumn column : relation.columns()) {
            if (column.key()) {
                identity.add(column.name());
            }
        }
        if (!identity.containsAll(key)) {
            String now = identity.isEmpty() ? "REPLICA IDENTITY NOTHING"
                    : "a replica identity of (" + String.join(", ", identity) + ")";
            return changed(plan, "Table " + plan.id() + " is keyed by (" + String.join(", ", key) + ") but the WAL now "
                    + "logs its old rows by " + now + ": its deletes and key-changing updates reach the WAL without "
                    + "the key, so the old key's tombstone could not be made");
        }
        return null;
    }

    /** A change that should have carried the old key came without it: the same fault, seen later. */
    static ConnectException keyMissing(TablePlan plan, String change, long xid) {
        return changed(plan, "Table " + plan.id() + ": a " + change + " (transaction " + xid + ") came without the "
                + "values of its key (" + String.join(", ", plan.keyColumnNames()) + ") in the old row the WAL logs");
    }

    private static ConnectException changed(TablePlan plan, String what) {
        return new ConnectException(what + ". Its replica identity was changed after validate() checked it (while "
                + "the slot streamed); changes logged since then cannot be delivered correctly, so nothing from there "
                + "on was. Run ALTER TABLE "
                + plan.id().quoted() + " REPLICA IDENTITY FULL (or give it back an identity that contains the key), "
                + "then snapshot again: stop the connector, delete its offsets (DELETE /connectors/<name>/offsets), "
                + "drop its slot, start it.");
    }

    /** False also for a table dropped since: its Relation message is then all there is. */
    private static boolean partitioned(int oid, Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT relkind = 'p' FROM pg_catalog.pg_class WHERE oid = CAST(? AS oid)")) {
            st.setLong(1, oid & 0xFFFFFFFFL);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
