package dev.pgkeyset.connect.chaos;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * Writes throughout the run, at about {@code changesPerSecond}: small transactions (1 to 3
 * statements) of inserts of new keys (never a key used before), updates {@code v = v + 1} of a
 * random live key, and, where the capture mode can see them, hard deletes. Every version it
 * commits is written down with the time its commit returned: the lag is measured from there,
 * and in wal mode every such version must arrive. A transaction whose commit failed (the server
 * went away during it) may or may not have committed: its versions are counted as uncertain and
 * asked of no one; the final comparison reads the truth from the tables anyway.
 */
final class Workload extends Thread {

    /** One version a transaction committed: v, or {@link #DELETED}. */
    record Version(String table, long id, long v) {
    }

    static final long DELETED = -1;

    private final TestDatabase db;
    private final List<String> tables;
    private final boolean deletes;
    private final Random random;
    private final long pauseNanosPerStatement;
    private final Map<String, List<Long>> live = new HashMap<>();
    private final Map<String, Long> nextId = new HashMap<>();
    private final Map<Version, Long> committedAt = new ConcurrentHashMap<>();
    final AtomicLong changesCommitted = new AtomicLong();
    final AtomicLong statementsUncertain = new AtomicLong();
    final AtomicLong transactionsFailed = new AtomicLong();
    private volatile boolean stop;
    private volatile Throwable failure;

    Workload(TestDatabase db, Map<String, Integer> initialRows, boolean deletes, long seed, double changesPerSecond) {
        super("chaos-workload");
        setDaemon(true);
        this.db = db;
        this.tables = new ArrayList<>(initialRows.keySet());
        this.deletes = deletes;
        this.random = new Random(seed);
        this.pauseNanosPerStatement = (long) (1e9 / changesPerSecond);
        initialRows.forEach((table, rows) -> {
            List<Long> ids = new ArrayList<>(rows);
            for (long id = 1; id <= rows; id++) {
                ids.add(id);
            }
            live.put(table, ids);
            nextId.put(table, rows + 1L);
        });
    }

    /** Versions committed for certain, with the wall-clock millis their commit returned. */
    Map<Version, Long> committed() {
        return committedAt;
    }

    @Override
    public void run() {
        Connection c = null;
        try {
            while (!stop) {
                try {
                    if (c == null) {
                        c = db.connect();
                        c.setAutoCommit(false);
                    }
                    transaction(c);
                } catch (SQLException e) {
                    transactionsFailed.incrementAndGet();
                    close(c);
                    c = null;
                    Thread.sleep(200); // the server restarts, or our backend was terminated
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            failure = e;
        } finally {
            close(c);
        }
    }

    private void transaction(Connection c) throws SQLException, InterruptedException {
        int statements = 1 + random.nextInt(3);
        List<Version> versions = new ArrayList<>(statements);
        List<Runnable> onCommit = new ArrayList<>();
        long began = System.nanoTime();
        try {
            for (int i = 0; i < statements; i++) {
                statement(c, versions, onCommit);
            }
        } catch (SQLException e) {
            rollbackQuietly(c);
            throw e;
        }
        try {
            c.commit();
        } catch (SQLException e) {
            statementsUncertain.addAndGet(versions.size());
            throw e;
        }
        long now = System.currentTimeMillis();
        onCommit.forEach(Runnable::run);
        for (Version version : versions) {
            committedAt.put(version, now);
        }
        changesCommitted.addAndGet(versions.size());
        long rest = statements * pauseNanosPerStatement - (System.nanoTime() - began);
        if (rest > 0) {
            Thread.sleep(rest / 1_000_000, (int) (rest % 1_000_000));
        }
    }

    /** One insert, update or delete; the key lists change only once the commit succeeded. */
    private void statement(Connection c, List<Version> versions, List<Runnable> onCommit) throws SQLException {
        String table = tables.get(random.nextInt(tables.size()));
        List<Long> ids = live.get(table);
        int dice = random.nextInt(100);
        if (dice < 25 || ids.isEmpty()) {
            long id = nextId.merge(table, 1L, Long::sum) - 1;
            try (PreparedStatement st = c.prepareStatement("INSERT INTO " + table + " (id, v, note) VALUES (?, 0, ?)")) {
                st.setLong(1, id);
                st.setString(2, "n" + random.nextInt(1_000_000));
                st.executeUpdate();
            }
            versions.add(new Version(table, id, 0));
            onCommit.add(() -> ids.add(id));
            return;
        }
        int index = random.nextInt(ids.size());
        long id = ids.get(index);
        if (deletes && dice < 35) {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM " + table + " WHERE id = ?")) {
                st.setLong(1, id);
                if (st.executeUpdate() == 1) {
                    versions.add(new Version(table, id, DELETED));
                }
            }
            onCommit.add(() -> ids.remove(id));
            return;
        }
        try (PreparedStatement st = c.prepareStatement(
                "UPDATE " + table + " SET v = v + 1, note = ? WHERE id = ? RETURNING v")) {
            st.setString(1, "n" + random.nextInt(1_000_000));
            st.setLong(2, id);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    versions.add(new Version(table, id, rs.getLong(1)));
                } else {
                    onCommit.add(() -> ids.remove(id)); // deleted by an uncertain commit after all
                }
            }
        }
    }

    /** Stops writing; fails if the writer met anything but a lost or refused connection. */
    void finish() throws InterruptedException {
        stop = true;
        join(60_000);
        if (isAlive()) {
            throw new AssertionError("the workload did not stop within 60 s");
        }
        if (failure != null) {
            throw new AssertionError("the workload failed", failure);
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is gone; it is replaced
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already broken
            }
        }
    }
}
