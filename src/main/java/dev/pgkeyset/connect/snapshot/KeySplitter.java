package dev.pgkeyset.connect.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.schema.Converters;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * Cuts a large table's key space into ranges of about equal row counts, from a sample of its keys:
 * {@code TABLESAMPLE SYSTEM} reads a few random pages (about {@value #SAMPLE_ROWS} rows, whatever
 * the table's size), never the whole table and never an {@code OFFSET}. The sample is sorted by the
 * database by the key's typed columns (under their collation; a key read through a cast, such as
 * numeric's {@code ::text}, still sorts as a number), and every n-th key becomes a boundary.
 * Boundaries are keys in offset form, so the ranges' queries compare them exactly as they compare
 * positions. Any orderable key works: integers, numeric, text, uuid, enums, composite keys.
 *
 * <p>The sampled share of pages comes from the table's size now ({@code pg_relation_size}, never
 * stale) times its rows per page as the last {@code ANALYZE}/{@code VACUUM} saw them (a density,
 * which stays right while the table grows, as the planner assumes too), not from {@code reltuples}
 * alone: a table that grew twentyfold since its last ANALYZE would otherwise be sampled at twenty
 * times the rows. Whatever the statistics say, at most {@value #SAMPLE_LIMIT} rows are read into
 * memory ({@code LIMIT} inside the sample).
 */
public final class KeySplitter {

    private static final Logger log = LoggerFactory.getLogger(KeySplitter.class);

    static final int SAMPLE_ROWS = 20_000;
    /** The hard bound on the rows a sample loads, should the statistics be wrong. */
    static final int SAMPLE_LIMIT = 2 * SAMPLE_ROWS;

    /**
     * Pages now, and the rows and pages the statistics last counted, over the table or the leaf
     * partitions of a partitioned table (a plain table is no partition tree of its own).
     */
    private static final String SIZE = """
            SELECT (coalesce(sum(pg_relation_size(c.oid)), 0) / current_setting('block_size')::bigint)::bigint,
                   coalesce(sum(c.reltuples) FILTER (WHERE c.relpages > 0 AND c.reltuples > 0), 0)::float8,
                   coalesce(sum(c.relpages) FILTER (WHERE c.relpages > 0 AND c.reltuples > 0), 0)::bigint,
                   current_setting('block_size')::int
              FROM pg_class c
             WHERE (c.oid = CAST(? AS regclass) AND c.relkind <> 'p')
                OR c.oid IN (SELECT relid FROM pg_partition_tree(CAST(? AS regclass)) WHERE isleaf)
            """;

    private static final String SAMPLE_ALIAS = Sql.quoteIdentifier("sample");

    private KeySplitter() {
    }

    /** A split into at most {@code ranges} ranges; fewer when the sample holds fewer distinct keys. */
    public static KeySplit split(Connection connection, CapturedTable table, PgKeysetConfig config, int ranges)
            throws SQLException {
        return boundaries(sample(connection, table, config), ranges);
    }

    /** The sampled keys in offset form, in the order of the key's typed columns; at most {@value #SAMPLE_LIMIT}. */
    static List<List<Object>> sample(Connection connection, CapturedTable table, PgKeysetConfig config)
            throws SQLException {
        TableId id = table.info().id();
        List<ColumnInfo> key = table.key();
        ColumnConverter[] converters = new ColumnConverter[key.size()];
        List<String> select = new ArrayList<>(key.size());
        for (int i = 0; i < converters.length; i++) {
            converters[i] = Converters.forColumn(id, key.get(i), config.numericMapping(), config.timePrecisionMode());
            select.add(converters[i].selectExpression(sampleColumn(key.get(i))));
        }
        double percent = samplePercent(connection, table);
        // The LIMIT sits inside, on the sampled rows as they are read, so it bounds what is read
        // and sorted; the outer ORDER BY names the sample's typed columns, never the casts above.
        String sql = "SELECT " + String.join(", ", select) + " FROM (SELECT "
                + Sql.quotedList(key.stream().map(ColumnInfo::name).toList()) + " FROM "
                + (table.info().kind().readWithOnly() ? "ONLY " : "") + id.quoted()
                + String.format(Locale.ROOT, " TABLESAMPLE SYSTEM (%.6f) LIMIT %d) AS ", percent, SAMPLE_LIMIT)
                + SAMPLE_ALIAS + " ORDER BY "
                + key.stream().map(KeySplitter::sampleColumn).collect(Collectors.joining(", "));
        List<List<Object>> sample = new ArrayList<>();
        int read = 0;
        try (PreparedStatement st = connection.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            rows:
            while (rs.next()) {
                read++;
                Object[] values = new Object[converters.length];
                for (int i = 0; i < converters.length; i++) {
                    Object raw = converters[i].read(rs, i + 1);
                    if (raw == null) {
                        continue rows; // a NULL key stops its reader (NullKeyCheck); no boundary of it
                    }
                    values[i] = converters[i].toOffset(raw);
                }
                sample.add(Arrays.asList(values));
            }
        }
        if (read >= SAMPLE_LIMIT) {
            log.warn("Table {}: its statistics say far fewer rows per page than it holds, so its key sample stopped "
                    + "at {} rows and the key ranges may be uneven; run ANALYZE {} before the next split", id,
                    SAMPLE_LIMIT, id.quoted());
        }
        log.debug("Table {}: {} keys sampled from {}% of its pages", id, sample.size(), percent);
        return sample;
    }

    private static String sampleColumn(ColumnInfo column) {
        return SAMPLE_ALIAS + "." + Sql.quoteIdentifier(column.name());
    }

    /**
     * The percentage of pages to sample for about {@value #SAMPLE_ROWS} rows: the table's pages
     * now times the rows per page its statistics counted, or, before any statistics, as many rows
     * per page as fit (so a sample errs small). A relation without pages of its own (a foreign
     * table) falls back on the catalog's estimate; the LIMIT bounds it anyway.
     */
    private static double samplePercent(Connection connection, CapturedTable table) throws SQLException {
        long pages;
        double countedRows;
        long countedPages;
        int blockSize;
        try (PreparedStatement st = connection.prepareStatement(SIZE)) {
            st.setString(1, table.info().id().quoted());
            st.setString(2, table.info().id().quoted());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                pages = rs.getLong(1);
                countedRows = rs.getDouble(2);
                countedPages = rs.getLong(3);
                blockSize = rs.getInt(4);
            }
        }
        // A heap tuple takes at least its 24-byte header and a 4-byte line pointer.
        double rowsPerPage = countedPages > 0 ? countedRows / countedPages : blockSize / 28.0;
        double rows = pages > 0 ? pages * rowsPerPage : table.info().estimatedRows();
        return Math.min(100.0, Math.max(0.0001, 100.0 * SAMPLE_ROWS / Math.max(1.0, rows)));
    }

    /** Every n-th key of a sorted sample, each boundary once (a sample of equal keys gives fewer ranges). */
    static KeySplit boundaries(List<List<Object>> sortedSample, int ranges) {
        List<List<Object>> boundaries = new ArrayList<>(ranges - 1);
        for (int j = 1; j < ranges && !sortedSample.isEmpty(); j++) {
            List<Object> boundary = sortedSample.get((int) ((long) j * sortedSample.size() / ranges));
            boolean sameAsPrevious = !boundaries.isEmpty() && boundaries.get(boundaries.size() - 1).equals(boundary);
            if (!sameAsPrevious && !boundary.equals(sortedSample.get(0))) {
                boundaries.add(boundary);
            }
        }
        return new KeySplit(boundaries);
    }
}
