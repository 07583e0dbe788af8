package dev.pgkeyset.bench;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

/**
 * The reference lines: what PostgreSQL and pgjdbc can do without the connector. COPY binary is
 * the read limit; a plain JDBC read shows what buffering a whole result costs; OFFSET pages show
 * their cost growing with the position, where a keyset page's does not.
 */
final class ReadLimits {

    private final BenchData data;

    ReadLimits(BenchData data) {
        this.data = data;
    }

    /** Rows per second of {@code COPY (SELECT … ORDER BY aid) TO STDOUT (FORMAT binary)}; also sets {@link #copyBytes}. */
    double copyBinary() throws SQLException, IOException {
        try (Connection c = data.connect()) {
            long start = System.nanoTime();
            CopyOut copy = c.unwrap(PGConnection.class).getCopyAPI()
                    .copyOut("COPY pgbench_accounts TO STDOUT (FORMAT binary)");
            long bytes = 0;
            byte[] chunk;
            while ((chunk = copy.readFromCopy()) != null) {
                bytes += chunk.length;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            copyBytes = bytes;
            return data.rows / seconds;
        }
    }

    long copyBytes;

    /**
     * A plain JDBC read: autocommit on, no fetch size, so pgjdbc holds the whole result. Returns
     * rows/s; a full collection while the result is still open lets a {@link HeapSampler} see
     * what it holds.
     */
    double naiveRead() throws SQLException {
        try (Connection c = data.connect(); Statement st = c.createStatement()) {
            long start = System.nanoTime();
            long rows = 0;
            double seconds;
            try (ResultSet rs = st.executeQuery("SELECT aid, bid, abalance, filler FROM pgbench_accounts ORDER BY aid")) {
                while (rs.next()) {
                    rs.getInt(1);
                    rows++;
                }
                seconds = (System.nanoTime() - start) / 1e9;
                System.gc();
            }
            return rows / seconds;
        }
    }

    /** Milliseconds to read one 5,000-row page at OFFSET 0, 25 %, 50 %, 75 % and near the end. */
    List<double[]> offsetPages() throws SQLException {
        return pages("SELECT aid, bid, abalance, filler FROM pgbench_accounts ORDER BY aid LIMIT 5000 OFFSET ?");
    }

    /** The same pages read by keyset ({@code aid > ?}), for comparison. */
    List<double[]> keysetPages() throws SQLException {
        return pages("SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid > ? ORDER BY aid LIMIT 5000");
    }

    /** Best of three times of the page query at each position: {position, milliseconds}. */
    private List<double[]> pages(String sql) throws SQLException {
        List<double[]> pages = new ArrayList<>();
        try (Connection c = data.connect(); PreparedStatement st = c.prepareStatement(sql)) {
            for (double share : new double[] {0, 0.25, 0.5, 0.75, 0.99}) {
                long position = (long) (share * (data.rows - 5000));
                st.setLong(1, position);
                double best = Double.MAX_VALUE;
                for (int run = 0; run < 3; run++) {
                    long start = System.nanoTime();
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            rs.getInt(1);
                        }
                    }
                    best = Math.min(best, (System.nanoTime() - start) / 1e6);
                }
                pages.add(new double[] {position, best});
            }
        }
        return pages;
    }
}
