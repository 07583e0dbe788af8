package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.pgkeyset.connect.query.KeysetQuery;
import dev.pgkeyset.connect.record.TablePlan;

/**
 * Fills in the out-of-line (TOAST) values an update left unchanged, which the WAL does not carry
 * under REPLICA IDENTITY DEFAULT or USING INDEX: one query per table per batch,
 * {@code WHERE (key) IN (...)}, reading the row's CURRENT values. A consumer may therefore see a
 * value newer than the change it comes with; the later change records of that row converge on it.
 * A row that no longer exists (deleted, or its key changed, later in the stream) leaves those
 * columns null and names them in the {@code pgkeyset.unavailable} header.
 */
final class ToastFetch {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ToastFetch.class);

    /** Keys per query: keeps the statement's parameters well below PostgreSQL's 65,535. */
    private static final int KEYS_PER_QUERY = 500;

    private ToastFetch() {
    }

    /** Fetches what {@code changes} miss; each change waiting for a fetch gets its values or its header. */
    static void fill(List<WalChange> changes, Connection connection) throws SQLException {
        Map<TablePlan, List<WalChange>> byPlan = new IdentityHashMap<>();
        for (WalChange change : changes) {
            if (change.waitsForFetch()) {
                byPlan.computeIfAbsent(change.plan, p -> new ArrayList<>()).add(change);
            }
        }
        for (Map.Entry<TablePlan, List<WalChange>> entry : byPlan.entrySet()) {
            fillTable(entry.getKey(), entry.getValue(), connection);
        }
        connection.commit();
    }

    private static void fillTable(TablePlan plan, List<WalChange> changes, Connection connection) throws SQLException {
        Set<Integer> columnSet = new TreeSet<>();
        Set<List<Object>> keys = new LinkedHashSet<>();
        for (WalChange change : changes) {
            for (int column : change.missing) {
                columnSet.add(column);
            }
            keys.add(plan.keyValues(change.raw));
        }
        int[] columns = columnSet.stream().mapToInt(Integer::intValue).toArray();
        Map<List<Object>, Object[]> rows = new HashMap<>();
        List<List<Object>> all = new ArrayList<>(keys);
        for (int from = 0; from < all.size(); from += KEYS_PER_QUERY) {
            List<List<Object>> chunk = all.subList(from, Math.min(all.size(), from + KEYS_PER_QUERY));
            readRows(plan, columns, chunk, connection, rows);
        }
        log.trace("Table {}: fetched {} of {} row(s) for unchanged TOAST values", plan.id(), rows.size(), keys.size());
        for (WalChange change : changes) {
            Object[] row = rows.get(plan.keyValues(change.raw));
            if (row == null) {
                List<String> names = new ArrayList<>(change.missing.length);
                for (int column : change.missing) {
                    names.add(plan.columns().get(column).name());
                }
                change.unavailable = String.join(",", names);
                log.debug("Table {}: row {} is gone; its unchanged column(s) {} at {} are sent as null", plan.id(),
                        plan.keyValues(change.raw), change.unavailable, change.offset);
            } else {
                for (int column : change.missing) {
                    change.raw[column] = row[column];
                }
            }
            change.missing = null;
        }
    }

    private static void readRows(TablePlan plan, int[] columns, List<List<Object>> keys, Connection connection,
                                 Map<List<Object>, Object[]> rows) throws SQLException {
        KeysetQuery query = plan.rowsByKeyQuery(columns, keys);
        int[] keyIndexes = plan.keyIndexes();
        try (PreparedStatement st = connection.prepareStatement(query.sql())) {
            query.bind(st);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Object[] row = new Object[plan.columns().size()];
                    int index = 1;
                    for (int keyIndex : keyIndexes) {
                        row[keyIndex] = plan.readColumn(rs, keyIndex, index++);
                    }
                    for (int column : columns) {
                        row[column] = plan.readColumn(rs, column, index++);
                    }
                    rows.put(plan.keyValues(row), row);
                }
            }
        }
    }
}
