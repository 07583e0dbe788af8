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

import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.pg.Catalog;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.PgType;
import dev.pgkeyset.connect.pg.PgTypeResolver;
import dev.pgkeyset.connect.offset.RelationOid;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.record.ColumnChanges;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * The plan of each table the stream names, by relation OID. Which relation is a captured table
 * is decided in stream order, from the names Relation messages carry (the catalog of that WAL
 * position, which a query now cannot see): at the task's start, the relation with the OID the
 * catalog gave the table; then the last one whose Relation message came with the table's name.
 * One renamed away (and back) stays the table while its name is free, so its changes under the
 * other name reach the topic. Once the name is another relation's (a swap, or the table dropped
 * and made again), which changes belong to the table cannot be told from the WAL alone: the task
 * fails, naming the table and saying to snapshot it again, unless this run's snapshot of the
 * table from the start reads it after them (then they are passed over). A Relation message is the truth about
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
     * Per captured table, the OID of the relation that holds its name at the stream's position:
     * at first the OID the task's catalog read gave it (none when not known), then the last
     * relation whose Relation message came with that name.
     */
    private final Map<TableId, Long> holder = new HashMap<>();
    /** Tables this run snapshots from the start: changes the stream cannot place are theirs to leave out. */
    private Set<TableId> snapshottedFromTheStart = Set.of();
    /** The server's WAL position before those snapshots began: what committed before it, they read. */
    private long snapshotsBeganAfter;
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
                .forEach(plan -> holder.put(plan.id(), plan.oid()));
    }

    /**
     * The tables this run snapshots from the start, and a WAL position taken before their
     * snapshots began: the snapshot reads such a table as it is after every transaction that
     * committed before that position, so a change of it committed before, which the stream cannot
     * place (a relation renamed while its name went to another), is passed over, not a failure.
     */
    void snapshottedFromTheStart(Set<TableId> tables, long walPositionBefore) {
        this.snapshottedFromTheStart = Set.copyOf(tables);
        this.snapshotsBeganAfter = walPositionBefore;
    }

    /** Whether this run's snapshot of {@code table} reads it as it is after the transaction committing at {@code commitLsn}. */
    private boolean coveredBySnapshot(TableId table, long commitLsn) {
        return snapshottedFromTheStart.contains(table) && Long.compareUnsigned(commitLsn, snapshotsBeganAfter) < 0;
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
    void onRelation(PgOutputMessage.Relation relation, Connection connection, long commitLsn) throws SQLException {
        TableId named = new TableId(relation.schema(), relation.table());
        long oid = Integer.toUnsignedLong(relation.oid());
        TablePlan current;
        if (captured.containsKey(named)) {
            current = captured.get(named);
            Long before = holder.get(named);
            if (before != null && before != oid) {
                if (coveredBySnapshot(named, commitLsn)) {
                    // An earlier relation of that name (the task's start found the holder): the
                    // snapshot of the table, from the start, reads it after this change.
                    log.warn("Table {}: relation OID {} came with its name at a point of the WAL this run's snapshot "
                            + "of the table (from the start) reads after; the table is OID {} now, and OID {}'s "
                            + "changes are passed over", named, oid, before, oid);
                    forget(relation.oid());
                    return;
                }
                handOver(named, before, oid);
            }
            // A relation holds one name: one renamed from one captured name to another is the latter's.
            holder.entrySet().removeIf(e -> e.getValue() == oid && !e.getKey().equals(named));
            holder.put(named, oid);
        } else {
            TableId heldName = holder.entrySet().stream().filter(e -> e.getValue() == oid).map(Map.Entry::getKey)
                    .findFirst().orElse(null);
            current = heldName == null ? null : captured.get(heldName);
            if (current != null) {
                long owner = Catalog.oidOf(connection, heldName);
                connection.commit();
                if (owner != 0 && owner != oid) {
                    // The name is another relation's now (a swap, or the table made again), and no
                    // Relation message of that one has come yet: whether this relation's changes
                    // from here were made before the name went or after cannot be told.
                    if (!coveredBySnapshot(heldName, commitLsn)) {
                        throw new ConnectException("Table " + heldName + ": its relation (OID " + oid + ") is named "
                                + named + " at this point of the WAL, and the name " + heldName + " now belongs to "
                                + "another relation (OID " + owner + "): the names were swapped, or the table was "
                                + "dropped and made again. Which of OID " + oid + "'s changes from here were made "
                                + "while it was still the table cannot be told from the WAL, so none is guessed. "
                                + RelationOid.REMEDY.replace("<table>", heldName.toString()));
                    }
                    log.warn("Table {}: its relation (OID {}) is named {} at this point of the WAL, and the name is "
                            + "now another relation's (OID {}); this run's snapshot of the table, from the start, reads "
                            + "it as it is after this change, which is passed over", heldName, oid, named, owner);
                    forget(relation.oid());
                    return;
                }
                // Renamed away (maybe for a moment): still the table while no other relation has its name.
                log.info("Table {}: the WAL names it {} here (renamed); its changes still go to its topic",
                        heldName, named);
            }
        }
        if (current == null) {
            forget(relation.oid());
            log.debug("Relation {} ({}) is published but not captured by this task: its changes are passed over",
                    relation.oid(), named);
            return;
        }
        TableId id = current.id();
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

    /**
     * Relation {@code to} came with {@code table}'s name, which relation {@code from} held (a swap
     * of names, or the table dropped and made again). The topic holds {@code from}'s rows, which
     * got no tombstones, and lacks the rows {@code to} held before its first change here, which
     * were never in the WAL: the task fails, saying to snapshot the table again.
     */
    private static void handOver(TableId table, long from, long to) {
        throw new ConnectException("Table " + table + ": from this point of the WAL its name is held by another "
                + "relation (OID " + to + ", before it OID " + from + "): the names were swapped, or the table was "
                + "dropped and made again. The topic holds the rows of OID " + from + ", and the rows OID " + to
                + " held before this were never in the WAL. " + RelationOid.REMEDY.replace("<table>", table.toString()));
    }

    /** Passes over a relation's changes from here on (until a Relation message of it makes it a table's again). */
    private void forget(int oid) {
        byOid.remove(oid);
        layouts.remove(oid);
        identityProblems.remove(oid);
        ignored.add(oid);
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
