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
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The only writer of a table {@code (id bigint PRIMARY KEY, v bigint, payload text, note text)}:
 * small transactions of random inserts (fresh keys, sometimes a deleted key again), updates
 * ({@code v = v + 1}, new payload and note) and hard deletes, one row per statement and each key
 * at most once per transaction, until stopped; then a last transaction inserts the marker row.
 * It logs what PostgreSQL itself answered: each transaction's xid, a WAL position its commit
 * record comes after, and each change's row as {@code RETURNING} gave it. {@code v} grows per key
 * across deletes and re-inserts, so no two changes of a key carry the same {@code v}.
 */
final class ChurnWorkload extends Thread {

    /** The row id of the marker, inserted last. */
    static final long MARKER = -1;

    record Row(long id, long v, String payload, String note) {
    }

    /** A change, {@code index} its place (0-based) among its transaction's changes; row null for a delete. */
    record Change(long xid, int index, char op, long id, Row row) {
    }

    /**
     * @param xid     the 32-bit transaction id (as the WAL's Begin carries it)
     * @param lsnBelow {@code pg_current_wal_insert_lsn()} after the last change, before COMMIT: the
     *                commit record lies after it
     */
    record Transaction(long xid, long lsnBelow, List<Change> changes) {
    }

    private final TestDatabase db;
    private final String table;
    private final Random random;
    private final List<Long> live = new ArrayList<>();
    private final Map<Long, Integer> liveIndex = new HashMap<>();
    private final List<Long> deleted = new ArrayList<>();
    private final Map<Long, Long> lastV = new HashMap<>();
    private final List<Transaction> transactions = new ArrayList<>();
    private final AtomicLong committed = new AtomicLong();
    private long nextId;
    private volatile boolean stop;
    private volatile Throwable failure;

    /** The table holds rows 1..{@code rows}, each with v = 0. */
    ChurnWorkload(TestDatabase db, String table, long rows, long seed) {
        super("churn-" + table);
        this.db = db;
        this.table = table;
        this.random = new Random(seed);
        for (long id = 1; id <= rows; id++) {
            addLive(id);
            lastV.put(id, 0L);
        }
        nextId = rows + 1;
    }

    long committedTransactions() {
        return committed.get();
    }

    @Override
    public void run() {
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            while (!stop) {
                transaction(c, false);
                Thread.sleep(4);
            }
            transaction(c, true);
        } catch (Throwable e) {
            failure = e;
        }
    }

    /** Stops, lets the marker transaction commit, and returns every committed transaction in commit order. */
    List<Transaction> finish() throws InterruptedException {
        stop = true;
        join();
        if (failure != null) {
            throw new AssertionError("the workload failed", failure);
        }
        return transactions;
    }

    /** Every key that ever had a row: the table's first rows and every key inserted since. */
    Set<Long> everPresent() {
        return new HashSet<>(lastV.keySet());
    }

    private void transaction(Connection c, boolean marker) throws SQLException {
        List<Change> changes = new ArrayList<>();
        Set<Long> touched = new HashSet<>();
        int statements = marker ? 1 : 1 + random.nextInt(4);
        for (int i = 0; i < statements; i++) {
            int dice = random.nextInt(100);
            Long target = marker ? null : pick(live, touched);
            char op = marker || target == null || dice < 35 ? 'c' : dice < 80 ? 'u' : 'd';
            long id = switch (op) {
                case 'c' -> marker ? MARKER : freshOrDeleted(touched);
                default -> target;
            };
            touched.add(id);
            changes.add(new Change(-1, i, op, id, apply(c, op, id)));
        }
        long xid;
        long lsnBelow;
        try (PreparedStatement st = c.prepareStatement("SELECT pg_current_xact_id()::text::bigint % 4294967296, "
                + "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"); ResultSet rs = st.executeQuery()) {
            rs.next();
            xid = rs.getLong(1);
            lsnBelow = rs.getLong(2);
        }
        c.commit();
        List<Change> numbered = changes.stream()
                .map(ch -> new Change(xid, ch.index(), ch.op(), ch.id(), ch.row())).toList();
        transactions.add(new Transaction(xid, lsnBelow, numbered));
        committed.incrementAndGet();
    }

    private Row apply(Connection c, char op, long id) throws SQLException {
        String payload = payload();
        String note = random.nextInt(10) < 3 ? null : "n" + random.nextInt(1000);
        String sql = switch (op) {
            case 'c' -> "INSERT INTO " + table + " (v, payload, note, id) VALUES (?, ?, ?, ?) RETURNING id, v, payload, note";
            case 'u' -> "UPDATE " + table + " SET v = v + 1, payload = ?, note = ? WHERE id = ? RETURNING id, v, payload, note";
            default -> "DELETE FROM " + table + " WHERE id = ? RETURNING id, v, payload, note";
        };
        try (PreparedStatement st = c.prepareStatement(sql)) {
            int p = 1;
            if (op == 'c') {
                st.setLong(p++, lastV.getOrDefault(id, -1L) + 1);
            }
            if (op != 'd') {
                st.setString(p++, payload);
                st.setString(p++, note);
            }
            st.setLong(p, id);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    throw new AssertionError("no row for " + op + " of id " + id);
                }
                Row row = new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4));
                if (rs.next()) {
                    throw new AssertionError("more than one row for " + op + " of id " + id);
                }
                lastV.put(id, row.v());
                if (op == 'd') {
                    removeLive(id);
                    deleted.add(id);
                    return null;
                }
                if (op == 'c' && id != MARKER) {
                    addLive(id);
                }
                return row;
            }
        }
    }

    private String payload() {
        StringBuilder text = new StringBuilder();
        int parts = 1 + random.nextInt(4);
        for (int i = 0; i < parts; i++) {
            text.append(Long.toHexString(random.nextLong())).append(i % 2 == 0 ? " é'" : "-");
        }
        return text.toString();
    }

    /** A deleted key again one insert in ten (when one is free), else a new key. */
    private long freshOrDeleted(Set<Long> touched) {
        if (!deleted.isEmpty() && random.nextInt(10) == 0) {
            int i = random.nextInt(deleted.size());
            long id = deleted.get(i);
            if (!touched.contains(id)) {
                deleted.set(i, deleted.get(deleted.size() - 1));
                deleted.remove(deleted.size() - 1);
                return id;
            }
        }
        return nextId++;
    }

    /** A random live key not yet touched by this transaction, or null (then an insert is made). */
    private Long pick(List<Long> keys, Set<Long> touched) {
        for (int attempt = 0; attempt < 5 && !keys.isEmpty(); attempt++) {
            long id = keys.get(random.nextInt(keys.size()));
            if (!touched.contains(id)) {
                return id;
            }
        }
        return null;
    }

    private void addLive(long id) {
        liveIndex.put(id, live.size());
        live.add(id);
    }

    private void removeLive(long id) {
        int i = liveIndex.remove(id);
        long moved = live.remove(live.size() - 1);
        if (moved != id) {
            live.set(i, moved);
            liveIndex.put(moved, i);
        }
    }
}
