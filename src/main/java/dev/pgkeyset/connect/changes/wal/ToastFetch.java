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
 * {@code WHERE (key) IN (...)}, reading the row's CURRENT values, about a batch's bytes at a time. A consumer may therefore see a
 * value newer than the change it comes with; the later change records of that row converge on it.
 * A row that no longer exists (deleted, or its key changed, later in the stream) leaves those
 * columns null and names them in the {@code pgkeyset.unavailable} header.
 */
final class ToastFetch {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ToastFetch.class);

    /** Keys per query: keeps the statement's parameters well below PostgreSQL's 65,535. */
    private static final int KEYS_PER_QUERY = 500;
    /** Keys of the first query of a fetch, whose rows' size sets how many the next queries ask for. */
    private static final int PROBE_KEYS = 8;
    /** Pauses before asking again for rows not found (see {@link #fillTable}). */
    private static final long[] RETRY_PAUSES_MILLIS = {5, 20, 50};

    private ToastFetch() {
    }

    /**
     * Fetches what {@code changes} miss, in their order, until about {@code byteBudget} bytes of
     * values are read (at least one query, so the first change waiting always gets its values):
     * an update may leave a value of many megabytes unchanged, and a transaction may hold
     * thousands of them. Each change whose key was asked for gets its values or its header; the
     * others still wait ({@link WalChange#waitsForFetch}) for a later call.
     */
    static void fill(List<WalChange> changes, Connection connection, long byteBudget) throws SQLException {
        // By table, the tables in the order of their first change (the first change is the one to hand over next).
        List<TablePlan> plans = new ArrayList<>();
        Map<TablePlan, List<WalChange>> byPlan = new IdentityHashMap<>();
        for (WalChange change : changes) {
            if (change.waitsForFetch()) {
                byPlan.computeIfAbsent(change.plan, p -> {
                    plans.add(p);
                    return new ArrayList<>();
                }).add(change);
            }
        }
        long budget = byteBudget;
        boolean first = true;
        for (TablePlan plan : plans) {
            if (!first && budget <= 0) {
                break;
            }
            budget -= fillTable(plan, byPlan.get(plan), connection, first ? Math.max(1, budget) : budget);
            first = false;
        }
        connection.commit();
    }

    /** @return the estimated bytes of the values read */
    private static long fillTable(TablePlan plan, List<WalChange> changes, Connection connection, long budget)
            throws SQLException {
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
        // A first small query measures the rows; the next ones ask for as many as the budget has room for.
        int chunk = PROBE_KEYS;
        int asked = 0;
        long bytes = 0;
        while (asked < all.size() && (asked == 0 || bytes < budget)) {
            List<List<Object>> next = all.subList(asked, Math.min(all.size(), asked + chunk));
            bytes += readRows(plan, columns, next, connection, rows);
            asked += next.size();
            long perRow = Math.max(1, bytes / Math.max(1, rows.size()));
            chunk = (int) Math.max(1, Math.min(KEYS_PER_QUERY, (budget - bytes) / perRow));
        }
        List<List<Object>> askedKeys = all.subList(0, asked);
        // The walsender may send a transaction a moment before it is visible to other sessions (its
        // commit record is flushed before it leaves the proc array): a row not found may be one
        // whose change is not visible yet, rather than gone. Ask again for those, briefly.
        for (long pause : RETRY_PAUSES_MILLIS) {
            List<List<Object>> notFound = askedKeys.stream().filter(k -> !rows.containsKey(k)).toList();
            if (notFound.isEmpty()) {
                break;
            }
            connection.commit();
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            for (int from = 0; from < notFound.size(); from += KEYS_PER_QUERY) {
                bytes += readRows(plan, columns, notFound.subList(from, Math.min(notFound.size(), from + KEYS_PER_QUERY)),
                        connection, rows);
            }
        }
        log.trace("Table {}: fetched {} of {} row(s) for unchanged TOAST values", plan.id(), rows.size(), asked);
        Set<List<Object>> answered = new java.util.HashSet<>(askedKeys);
        for (WalChange change : changes) {
            List<Object> key = plan.keyValues(change.raw);
            if (!answered.contains(key)) {
                continue; // not asked for yet: over the budget
            }
            Object[] row = rows.get(key);
            if (row == null) {
                List<String> names = new ArrayList<>(change.missing.length);
                for (int column : change.missing) {
                    names.add(plan.columns().get(column).name());
                }
                change.unavailable = String.join(",", names);
                log.debug("Table {}: row {} is gone; its unchanged column(s) {} at {} are sent as null", plan.id(),
                        key, change.unavailable, change.offset);
            } else {
                for (int column : change.missing) {
                    change.raw[column] = row[column];
                }
            }
            change.missing = null;
        }
        return bytes;
    }

    /** @return the estimated bytes of the rows read */
    private static long readRows(TablePlan plan, int[] columns, List<List<Object>> keys, Connection connection,
                                 Map<List<Object>, Object[]> rows) throws SQLException {
        long bytes = 0;
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
                    bytes += plan.estimateBytes(row);
                }
            }
        }
        return bytes;
    }
}
