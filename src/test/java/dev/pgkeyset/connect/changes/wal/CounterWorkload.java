package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The only writer of tables {@code (id bigint PRIMARY KEY, v bigint, pad text)}: small
 * transactions over all of them of {@code v = v + 1} updates, inserts of fresh keys and hard
 * deletes (never of a key again), until finished; so v only grows per key. From
 * {@link #startTracking} on, it remembers the keys of one table it changed or inserted: rows a
 * snapshot taken meanwhile may rightly leave to the stream.
 */
final class CounterWorkload extends Thread {

    private final TestDatabase db;
    private final List<String> tables;
    private final String tracked;
    private final Random random;
    private final Map<String, List<Long>> live = new HashMap<>();
    private final Map<String, Long> nextId = new HashMap<>();
    private final Set<Long> touched = new HashSet<>();
    private volatile boolean tracking;
    private volatile boolean stop;
    private volatile Throwable failure;
    volatile long changes;

    /**
     * @param rows    each table's rows at the start: ids 1 to n
     * @param tracked the table whose changed keys {@link #startTracking} remembers
     */
    CounterWorkload(TestDatabase db, Map<String, Integer> rows, String tracked, long seed) {
        super("counter-workload");
        this.db = db;
        this.tables = List.copyOf(new java.util.TreeSet<>(rows.keySet()));
        this.tracked = tracked;
        random = new Random(seed);
        for (String table : tables) {
            List<Long> ids = new ArrayList<>();
            for (long id = 1; id <= rows.get(table); id++) {
                ids.add(id);
            }
            live.put(table, ids);
            nextId.put(table, rows.get(table) + 1L);
        }
    }

    void startTracking() {
        synchronized (touched) {
            touched.clear();
            tracking = true;
        }
    }

    Set<Long> stopTracking() {
        synchronized (touched) {
            tracking = false;
            return new HashSet<>(touched);
        }
    }

    @Override
    public void run() {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            while (!stop) {
                int statements = 1 + random.nextInt(3);
                List<Long> trackedKeys = new ArrayList<>();
                for (int i = 0; i < statements; i++) {
                    String table = tables.get(random.nextInt(tables.size()));
                    long id = change(st, table);
                    if (table.equals(tracked)) {
                        trackedKeys.add(id);
                    }
                }
                // Remembered before the commit: a key counts as touched from its change's commit on.
                synchronized (touched) {
                    if (tracking) {
                        touched.addAll(trackedKeys);
                    }
                }
                c.commit();
                changes += statements;
                Thread.sleep(2);
            }
        } catch (Throwable e) {
            failure = e;
        }
    }

    private long change(Statement st, String table) throws SQLException {
        List<Long> ids = live.get(table);
        int dice = random.nextInt(100);
        if (dice < 15 || ids.isEmpty()) {
            long id = nextId.merge(table, 1L, Long::sum) - 1;
            st.execute("INSERT INTO " + table + " VALUES (" + id + ", 0, 'new " + id + "')");
            ids.add(id);
            return id;
        }
        int at = random.nextInt(ids.size());
        long id = ids.get(at);
        if (dice < 25) {
            st.execute("DELETE FROM " + table + " WHERE id = " + id);
            ids.set(at, ids.get(ids.size() - 1));
            ids.remove(ids.size() - 1);
        } else {
            st.execute("UPDATE " + table + " SET v = v + 1, pad = md5(random()::text) WHERE id = " + id);
        }
        return id;
    }

    void finish() throws InterruptedException {
        stop = true;
        join(30_000);
        if (failure != null) {
            throw new AssertionError("the workload failed", failure);
        }
    }
}
