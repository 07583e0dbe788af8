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
 * The plan of each table the stream names, by relation OID: a captured table is known by the OID
 * it had when the task read the catalog, so one renamed away (and back) stays the same table,
 * unless its name has meanwhile gone to another relation (a swap), which is then the table. A Relation message is the truth about
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
    /**
     * The captured tables by the OID they had when the task read the catalog: a Relation message
     * names a table as it was named at that WAL position, and one renamed away (and back, later)
     * is still the same table. Tables are otherwise matched by name (one created since).
     */
    private final Map<Long, TableId> capturedByOid = new HashMap<>();
    private final Map<Integer, TablePlan> byOid = new HashMap<>();
    /** Relations of the publication this task does not capture: their changes are passed over. */
    private final Set<Integer> ignored = new HashSet<>();
    /** By relation OID: where each column of its tuples goes in the plan, and the plan's generated columns. */
    private final Map<Integer, Layout> layouts = new HashMap<>();
    private final PgTypeResolver types = new PgTypeResolver();
    /** By relation OID: why its updates and deletes cannot be keyed, from its latest Relation message. */
    private final Map<Integer, String> identityProblems = new HashMap<>();

    RelationPlans(Map<TableId, TablePlan> captured) {
        this.captured = new HashMap<>(captured);
        captured.values().stream().filter(plan -> plan.oid() != 0)
                .forEach(plan -> capturedByOid.put(plan.oid(), plan.id()));
    }

    /** The plan for a relation's changes; null when the task does not capture it. */
    TablePlan plan(int oid) {
        TablePlan plan = byOid.get(oid);
        if (plan == null && !ignored.contains(oid)) {
            throw new IllegalStateException("change of relation " + oid + " before its Relation message");
        }
        return plan;
    }

    /**
     * pgoutput (PostgreSQL 15) sends no generated column, while the snapshot reads them: the plan
     * keeps them (from the catalog), a tuple's column i goes to plan column {@code toPlan[i]},
     * and {@code generated} (plan indexes) are fetched by key like unchanged TOAST values.
     */
    record Layout(int[] toPlan, int[] generated) {
    }

    /**
     * @throws org.apache.kafka.connect.errors.ConnectException when the relation's replica identity,
     *         as its latest Relation message has it, no longer holds the key ({@link IdentityGuard})
     */
    void checkIdentityForUpdateOrDelete(int oid) {
        String problem = identityProblems.get(oid);
        if (problem != null) {
            throw new org.apache.kafka.connect.errors.ConnectException(problem);
        }
    }

    /** The layout of a relation whose plan {@link #plan} gave. */
    Layout layout(int oid) {
        return layouts.get(oid);
    }

    /** Takes in a Relation message; reads the catalog (on {@code connection}) only when its columns may differ. */
    void onRelation(PgOutputMessage.Relation relation, Connection connection) throws SQLException {
        TableId named = new TableId(relation.schema(), relation.table());
        TablePlan current = byOid.containsKey(relation.oid()) ? byOid.get(relation.oid())
                : captured.get(capturedByOid.getOrDefault(Integer.toUnsignedLong(relation.oid()), named));
        if (current == null) {
            ignored.add(relation.oid());
            log.debug("Relation {} ({}) is published but not captured by this task: its changes are passed over",
                    relation.oid(), named);
            return;
        }
        TableId id = current.id();
        if (!id.equals(named)) {
            long owner = ownerOfName(id, connection);
            if (owner != 0 && owner != Integer.toUnsignedLong(relation.oid())) {
                // Renamed, and its name now belongs to another relation (a swap: RENAME t TO t_old,
                // RENAME t_new TO t): that one is the captured table from here on, and what is
                // done to the old one (emptied, dropped) must not reach the topic.
                byOid.remove(relation.oid());
                layouts.remove(relation.oid());
                identityProblems.remove(relation.oid());
                ignored.add(relation.oid());
                log.warn("Table {}: the relation it was (OID {}) is named {} at this point of the WAL, and {} is now "
                        + "another relation (OID {}): that one is captured as {} from its next change, and the "
                        + "changes of {} are passed over", id, Integer.toUnsignedLong(relation.oid()), named, id, owner,
                        id, named);
                return;
            }
            // Renamed away (maybe for a moment): the same table, whose changes go to its topic meanwhile.
            log.info("Table {}: the WAL names it {} here (renamed); its changes still go to its topic", id, named);
        }
        List<ColumnInfo> sent = columnsOf(relation, connection);
        List<ColumnInfo> columns = new ArrayList<>(sent);
        int[] generated = withGenerated(columns, relation.oid(), connection);
        int[] toPlan = new int[sent.size()];
        for (int i = 0, p = 0; i < sent.size(); i++, p++) {
            while (columns.get(p) != sent.get(i)) {
                p++;
            }
            toPlan[i] = p;
        }
        layouts.put(relation.oid(), new Layout(toPlan, generated));
        if (!columns.equals(current.columns())) {
            TablePlan next = current.withColumns(columns);
            log.info("Table {}: columns changed in the WAL ({}); records from here on carry the new schema", id,
                    ColumnChanges.describe(current.columns(), columns));
            current = next;
            captured.put(id, next);
        }
        org.apache.kafka.connect.errors.ConnectException identityProblem = IdentityGuard.check(current, relation,
                connection);
        connection.commit();
        if (identityProblem == null) {
            identityProblems.remove(relation.oid());
        } else {
            identityProblems.put(relation.oid(), identityProblem.getMessage());
        }
        byOid.put(relation.oid(), current);
    }

    /** The OID of the relation named {@code id} now; 0 when none is. */
    private static long ownerOfName(TableId id, Connection connection) throws SQLException {
        long owner;
        try (PreparedStatement st = connection.prepareStatement(
                "SELECT CAST(pg_catalog.to_regclass(?) AS pg_catalog.oid)")) {
            st.setString(1, id.quoted());
            try (ResultSet rs = st.executeQuery()) {
                owner = rs.next() ? rs.getLong(1) : 0;
            }
        }
        connection.commit();
        return owner;
    }

    /**
     * Inserts into {@code columns} (the Relation's, in order) the table's stored generated columns
     * as the catalog has them now, each after the column that precedes it there; returns their
     * indexes. None when the table is gone.
     */
    private int[] withGenerated(List<ColumnInfo> columns, int oid, Connection connection)
            throws SQLException {
        List<String> order = new ArrayList<>();
        Set<String> generatedNames = new HashSet<>();
        try (PreparedStatement st = connection.prepareStatement("SELECT attname, attgenerated <> ''"
                + " FROM pg_catalog.pg_attribute WHERE attrelid = CAST(? AS oid) AND attnum > 0 AND NOT attisdropped"
                + " ORDER BY attnum")) {
            st.setLong(1, oid & 0xFFFFFFFFL);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    order.add(rs.getString(1));
                    if (rs.getBoolean(2)) {
                        generatedNames.add(rs.getString(1));
                    }
                }
            }
        }
        connection.commit();
        if (generatedNames.isEmpty()) {
            return new int[0];
        }
        Map<String, ColumnInfo> inCatalog = new HashMap<>();
        for (ColumnInfo column : Catalog.columnsOfRelation(connection, oid & 0xFFFFFFFFL, types)) {
            inCatalog.put(column.name(), column);
        }
        connection.commit();
        List<Integer> indexes = new ArrayList<>();
        String previous = null;
        for (String name : order) {
            ColumnInfo column = inCatalog.get(name);
            if (generatedNames.contains(name) && column != null
                    && columns.stream().noneMatch(c -> c.name().equals(name))) {
                int at = 0;
                for (int i = 0; i < columns.size(); i++) {
                    if (columns.get(i).name().equals(previous)) {
                        at = i + 1;
                    }
                }
                columns.add(at, column);
                for (int j = 0; j < indexes.size(); j++) {
                    if (indexes.get(j) >= at) {
                        indexes.set(j, indexes.get(j) + 1);
                    }
                }
                indexes.add(at);
            }
            previous = name;
        }
        return indexes.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * The Relation's columns, each as the catalog has it where the column still exists with that
     * type (looked up by the relation's OID, whatever its name now); else, as for a table dropped
     * since, as the message alone describes it.
     */
    private List<ColumnInfo> columnsOf(PgOutputMessage.Relation relation, Connection connection)
            throws SQLException {
        Map<String, ColumnInfo> inCatalog = new HashMap<>();
        for (ColumnInfo column : Catalog.columnsOfRelation(connection, Integer.toUnsignedLong(relation.oid()), types)) {
            inCatalog.put(column.name(), column);
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
