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
     * The keyset read with nothing of the connector: a server-side cursor over
     * {@code WHERE aid > ? ORDER BY aid}, each value read as the task reads it. Rows/s.
     */
    double keysetCursorValues() throws SQLException {
        try (Connection c = data.connect()) {
            c.setAutoCommit(false);
            c.unwrap(PGConnection.class).setPrepareThreshold(-1); // binary transfer, as the connector reads
            long start = System.nanoTime();
            long rows = 0;
            long checksum = 0;
            try (PreparedStatement st = c.prepareStatement("SELECT aid, bid, abalance, filler FROM pgbench_accounts"
                    + " WHERE aid > ? ORDER BY aid", ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY)) {
                st.setFetchSize(5000);
                st.setInt(1, 0);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        checksum += rs.getInt(1) + rs.getInt(2) + rs.getInt(3) + rs.getString(4).length();
                        rows++;
                    }
                }
            }
            c.commit();
            return checked(rows, checksum, start);
        }
    }

    /**
     * The same keyset read as a chain of {@code COPY (SELECT … WHERE aid > last ORDER BY aid
     * LIMIT 100000) TO STDOUT (FORMAT binary)} chunks, each row decoded from the stream as it
     * arrives (never buffered whole): what a COPY-based snapshot path could do. Rows/s.
     */
    double keysetCopyChunks() throws SQLException {
        int chunk = 100_000;
        try (Connection c = data.connect()) {
            c.setAutoCommit(false);
            long start = System.nanoTime();
            long rows = 0;
            long checksum = 0;
            int last = 0;
            while (true) {
                CopyOut copy = c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT aid, bid, abalance,"
                        + " filler FROM pgbench_accounts WHERE aid > " + last + " ORDER BY aid LIMIT " + chunk
                        + ") TO STDOUT (FORMAT binary)");
                int inChunk = 0;
                boolean header = true;
                byte[] message;
                while ((message = copy.readFromCopy()) != null) {
                    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(message);
                    if (header) {
                        in.position(11 + 4); // signature and flags
                        in.position(in.position() + 4 + in.getInt()); // header extension
                        header = false;
                    }
                    while (in.remaining() >= 2) {
                        short fields = in.getShort();
                        if (fields < 0) {
                            break; // trailer
                        }
                        int aid = 0;
                        for (int f = 0; f < fields; f++) {
                            int length = in.getInt();
                            if (length < 0) {
                                continue;
                            }
                            if (f < 3) {
                                int value = in.getInt();
                                aid = f == 0 ? value : aid;
                                checksum += value;
                            } else {
                                checksum += new String(message, in.position(), length,
                                        java.nio.charset.StandardCharsets.UTF_8).length();
                                in.position(in.position() + length);
                            }
                        }
                        last = aid;
                        inChunk++;
                        rows++;
                    }
                }
                if (inChunk < chunk) {
                    break;
                }
            }
            c.commit();
            return checked(rows, checksum, start);
        }
    }

    private double checked(long rows, long checksum, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        if (rows != data.rows || checksum == 0) {
            throw new IllegalStateException("read " + rows + " rows of " + data.rows);
        }
        return rows / seconds;
    }

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
