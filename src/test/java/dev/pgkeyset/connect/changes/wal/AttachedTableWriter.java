package dev.pgkeyset.connect.changes.wal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * The writer of the leaf-copy tests: random updates, deletes and inserts (an upsert, {@code n} a
 * counter) of the to-be-attached table q's keys, through q or through the partitioned table p
 * (before the ATTACH, an insert through p finds no partition and is passed over; q is then a
 * plain table, not streamed), and updates of p1's keys. Runs on its own thread until stopped.
 */
final class AttachedTableWriter extends Thread {

    private final TestDatabase db;
    private final Random random;
    private final int firstQKey;
    private final int qKeys;
    private final int p1Keys;
    private final String extraValues;
    private final AtomicBoolean writing = new AtomicBoolean(true);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /**
     * @param qKeys       how many keys from {@code firstQKey} on it writes (some beyond q's rows: inserts)
     * @param p1Keys      p1's keys, 1 to this
     * @param extraValues what follows {@code id, n} in an inserted row's VALUES (e.g. {@code , 'new'})
     */
    AttachedTableWriter(TestDatabase db, long seed, int firstQKey, int qKeys, int p1Keys, String extraValues) {
        super("attached-table-writer");
        this.db = db;
        this.random = new Random(seed);
        this.firstQKey = firstQKey;
        this.qKeys = qKeys;
        this.p1Keys = p1Keys;
        this.extraValues = extraValues;
    }

    @Override
    public void run() {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            int n = 1;
            while (writing.get()) {
                int inQ = firstQKey + random.nextInt(qKeys);
                String table = random.nextBoolean() ? "q" : "p";
                String sql = switch (random.nextInt(5)) {
                    case 0, 1 -> "UPDATE " + table + " SET n = " + n + " WHERE id = " + inQ;
                    case 2 -> "DELETE FROM " + table + " WHERE id = " + inQ;
                    case 3 -> "INSERT INTO " + table + " VALUES (" + inQ + ", " + n + extraValues
                            + ") ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n";
                    default -> "UPDATE p SET n = " + n + " WHERE id = " + (1 + random.nextInt(p1Keys));
                };
                try {
                    st.execute(sql);
                } catch (SQLException e) {
                    // An insert into p before q is its partition: "no partition of relation p found for row".
                    if (!"23514".equals(e.getSQLState())) {
                        throw e;
                    }
                }
                n++;
                Thread.sleep(random.nextInt(3));
            }
        } catch (Exception e) {
            failure.set(e);
        }
    }

    /** Stops the writer and waits for it; its failure, if any. */
    Throwable finish() throws InterruptedException {
        writing.set(false);
        join(30_000);
        return failure.get();
    }
}
