package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.PgTypeResolver;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.ColumnChanges;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * The plan of each table the stream names, by relation OID. A Relation message is the truth about
 * a table's columns at that WAL position (the catalog may already be newer): when its columns
 * differ from the plan's, the following records are built with a plan for its columns. Column
 * types come from the message (resolved with {@link PgTypeResolver}); nullability and array
 * dimensions from the catalog where the column still exists with that type, else the field is
 * optional.
 */
final class RelationPlans {

    private static final Logger log = LoggerFactory.getLogger(RelationPlans.class);

    /** The captured tables' plans as the task started, by table. */
    private final Map<TableId, TablePlan> captured;
    private final Map<Integer, TablePlan> byOid = new HashMap<>();
    /** Relations of the publication this task does not capture: their changes are passed over. */
    private final Set<Integer> ignored = new HashSet<>();
    private final PgTypeResolver types = new PgTypeResolver();

    RelationPlans(Map<TableId, TablePlan> captured) {
        this.captured = new HashMap<>(captured);
    }

    /** The plan for a relation's changes; null when the task does not capture it. */
    TablePlan plan(int oid) {
        TablePlan plan = byOid.get(oid);
        if (plan == null && !ignored.contains(oid)) {
            throw new IllegalStateException("change of relation " + oid + " before its Relation message");
        }
        return plan;
    }

    /** Takes in a Relation message; reads the catalog (on {@code connection}) only when its columns may differ. */
    void onRelation(PgOutputMessage.Relation relation, Connection connection) throws SQLException {
        TableId id = new TableId(relation.schema(), relation.table());
        TablePlan current = byOid.containsKey(relation.oid()) ? byOid.get(relation.oid()) : captured.get(id);
        if (current == null) {
            ignored.add(relation.oid());
            log.debug("Relation {} ({}) is published but not captured by this task: its changes are passed over",
                    relation.oid(), id);
            return;
        }
        List<ColumnInfo> columns = columnsOf(relation, id, connection);
        if (!columns.equals(current.columns())) {
            TablePlan next = current.withColumns(columns);
            log.info("Table {}: columns changed in the WAL ({}); records from here on carry the new schema", id,
                    ColumnChanges.describe(current.columns(), columns));
            current = next;
            captured.put(id, next);
        }
        byOid.put(relation.oid(), current);
    }

    private List<ColumnInfo> columnsOf(PgOutputMessage.Relation relation, TableId id, Connection connection)
            throws SQLException {
        Map<String, ColumnInfo> inCatalog = new HashMap<>();
        try {
            for (ColumnInfo column : Catalog.columnsOf(connection, id, types)) {
                inCatalog.put(column.name(), column);
            }
        } catch (SQLException e) {
            if (!dev.pgkeyset.connect.pg.SqlErrors.isUndefinedTable(e)) {
                throw e;
            }
            connection.rollback();
            // Dropped or renamed since: the message alone describes the columns.
        }
        List<String> typeNames = typeNames(relation.columns(), connection);
        List<ColumnInfo> columns = new ArrayList<>(relation.columns().size());
        for (int i = 0; i < relation.columns().size(); i++) {
            PgOutputMessage.RelationColumn column = relation.columns().get(i);
            PgType type = types.resolve(connection, column.typeOid(), column.typmod());
            ColumnInfo known = inCatalog.get(column.name());
            if (known != null && known.type().equals(type) && known.typeName().equals(typeNames.get(i))) {
                columns.add(known);
            } else {
                columns.add(new ColumnInfo(column.name(), type, typeNames.get(i), type.isArray() ? 1 : 0, false));
            }
        }
        connection.commit();
        return columns;
    }

    private static List<String> typeNames(List<PgOutputMessage.RelationColumn> columns, Connection connection)
            throws SQLException {
        List<String> names = new ArrayList<>(columns.size());
        try (PreparedStatement st = connection.prepareStatement("SELECT format_type(CAST(? AS oid), ?)")) {
            for (PgOutputMessage.RelationColumn column : columns) {
                st.setLong(1, column.typeOid() & 0xFFFFFFFFL);
                st.setInt(2, column.typmod());
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    names.add(rs.getString(1));
                }
            }
        }
        return names;
    }
}
