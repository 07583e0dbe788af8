package dev.pgkeyset.connect.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * {@link PgSnapshot#visible} against PostgreSQL's own {@code pg_visible_in_snapshot}: for
 * snapshots the server took while transactions were running, and for random snapshots around
 * epoch boundaries (where pgoutput's 32-bit xid must be widened to the right epoch), asked about
 * the low 32 bits of 64-bit ids within 2^31 of the snapshot's xmax. Seed:
 * {@code -DpgSnapshot.seed=<n>}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PgSnapshotIT {

    /** PostgreSQL's FirstNormalTransactionId. */
    private static final long FIRST_NORMAL = 3;

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("pg_snapshot");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void aSnapshotTheServerTookSeesWhatItSaysAboutRunningCommittedAndLaterTransactions() throws Exception {
        try (Connection first = db.connect(); Connection second = db.connect(); Connection observer = db.connect();
             Connection later = db.connect()) {
            first.setAutoCommit(false);
            second.setAutoCommit(false);
            later.setAutoCommit(false);
            long committedBefore;
            try (Connection c = db.connect()) {
                committedBefore = currentXid(c);
            }
            long running1 = currentXid(first);
            long running2 = currentXid(second);
            first.commit();
            // The snapshot: second still runs, first committed, committedBefore long done.
            String text = queryText(observer, "SELECT pg_current_snapshot()::text");
            long afterIt = currentXid(later);
            later.commit();
            second.commit();
            PgSnapshot snapshot = PgSnapshot.parse(text);
            for (long xid : new long[] {committedBefore, running1, running2, afterIt}) {
                assertEquals(pgVisible(observer, xid, text), snapshot.visible(xid & 0xFFFF_FFFFL),
                        "xid " + xid + " in snapshot " + text);
            }
            assertTrue(snapshot.visible(running1 & 0xFFFF_FFFFL), "committed before the snapshot: " + text);
            assertFalse(snapshot.visible(running2 & 0xFFFF_FFFFL), "running at the snapshot: " + text);
            assertFalse(snapshot.visible(afterIt & 0xFFFF_FFFFL), "begun after the snapshot: " + text);
        }
    }

    @Test
    void randomSnapshotsAroundEpochBoundariesAgreeWithPostgres() throws Exception {
        long seed = Long.getLong("pgSnapshot.seed", System.nanoTime());
        System.out.println("PgSnapshotIT seed " + seed + " (replay: -DpgSnapshot.seed=" + seed + ")");
        Random random = new Random(seed);
        int checked = 0;
        try (Connection c = db.connect()) {
            for (int round = 0; round < 200; round++) {
                long epoch = 1 + random.nextInt(1000);
                // xmin and xmax near the wrap of the epoch's 32-bit ids, either side, or far from it.
                long wrap = epoch << 32;
                long xmax = switch (round % 4) {
                    case 0 -> wrap + random.nextInt(50);
                    case 1 -> wrap - random.nextInt(50);
                    case 2 -> wrap + random.nextInt(Integer.MAX_VALUE);
                    default -> wrap - 1 - random.nextInt(Integer.MAX_VALUE);
                };
                xmax = normal(xmax);
                long xmin = Math.min(normal(xmax - random.nextInt(200)), xmax);
                TreeSet<Long> running = new TreeSet<>();
                for (int i = xmin == xmax ? 0 : random.nextInt(8); i > 0; i--) {
                    long xid = normal(xmin + (long) (random.nextDouble() * (xmax - xmin)));
                    if (xid < xmax) {
                        running.add(xid);
                    }
                }
                StringBuilder text = new StringBuilder().append(xmin).append(':').append(xmax).append(':');
                running.forEach(x -> text.append(text.charAt(text.length() - 1) == ':' ? "" : ",").append(x));
                PgSnapshot snapshot = PgSnapshot.parse(text.toString());

                List<Long> xids = new ArrayList<>(running);
                for (int i = 0; i < 40; i++) {
                    long near = xmin - 250 + random.nextInt((int) (xmax - xmin) + 500);
                    // Anywhere within 2^31 of xmax, the range in which a 32-bit id names one transaction.
                    long far = xmax - (1L << 31) + 1 + (long) (random.nextDouble() * ((1L << 32) - 2));
                    for (long xid : new long[] {near, far}) {
                        if ((xid & 0xFFFF_FFFFL) >= FIRST_NORMAL) {
                            xids.add(xid);
                        }
                    }
                }
                List<Boolean> expected = pgVisible(c, xids, text.toString());
                for (int i = 0; i < xids.size(); i++) {
                    long xid = xids.get(i);
                    assertEquals(expected.get(i), snapshot.visible(xid & 0xFFFF_FFFFL), "xid " + xid + " (32 bits: "
                            + (xid & 0xFFFF_FFFFL) + ") in snapshot " + text + ", seed " + seed);
                    checked++;
                }
            }
        }
        System.out.println("PgSnapshotIT: " + checked + " xids checked against pg_visible_in_snapshot");
    }

    /**
     * The id itself, or the next one whose low 32 bits are a normal xid: PostgreSQL never assigns
     * 0 to 2 (it skips them at each wrap), and refuses a pg_snapshot whose xmax has them.
     */
    private static long normal(long xid) {
        long low = xid & 0xFFFF_FFFFL;
        return low < FIRST_NORMAL ? xid + FIRST_NORMAL - low : xid;
    }

    private static long currentXid(Connection c) throws SQLException {
        return Long.parseLong(queryText(c, "SELECT pg_current_xact_id()::text"));
    }

    private static String queryText(Connection c, String sql) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static boolean pgVisible(Connection c, long xid, String snapshot) throws SQLException {
        return pgVisible(c, List.of(xid), snapshot).get(0);
    }

    /** PostgreSQL's answer for each 64-bit id, in order. */
    private static List<Boolean> pgVisible(Connection c, List<Long> xids, String snapshot) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT pg_visible_in_snapshot(x::text::xid8, ?::pg_snapshot) "
                + "FROM unnest(?::bigint[]) WITH ORDINALITY AS u(x, n) ORDER BY n")) {
            st.setString(1, snapshot);
            Array array = c.createArrayOf("bigint", xids.toArray());
            st.setArray(2, array);
            List<Boolean> answers = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    answers.add(rs.getBoolean(1));
                }
            }
            assertEquals(xids.size(), answers.size(), "one answer per xid");
            return answers;
        }
    }
}
