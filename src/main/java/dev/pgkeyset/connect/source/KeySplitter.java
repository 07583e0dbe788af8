package dev.pgkeyset.connect.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.KeySplit;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.Sql;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.schema.ColumnConverter;
import dev.pgkeyset.connect.schema.Converters;

/**
 * Cuts a large table's key space into ranges of about equal row counts, from a sample of its keys:
 * {@code TABLESAMPLE SYSTEM} reads a few random pages (about {@value #SAMPLE_ROWS} rows, whatever
 * the table's size), never the whole table and never an {@code OFFSET}. The sample is sorted by the
 * database, under the key's own collation, and every n-th key becomes a boundary. Boundaries are
 * keys in offset form, so the ranges' queries compare them exactly as they compare positions. Any
 * orderable key works: integers, text, uuid, composite keys.
 */
public final class KeySplitter {

    static final int SAMPLE_ROWS = 20_000;

    private KeySplitter() {
    }

    /** A split into at most {@code ranges} ranges; fewer when the sample holds fewer distinct keys. */
    public static KeySplit split(Connection connection, CapturedTable table, PgKeysetConfig config, int ranges)
            throws SQLException {
        TableId id = table.info().id();
        List<ColumnInfo> key = table.key();
        ColumnConverter[] converters = new ColumnConverter[key.size()];
        List<String> select = new ArrayList<>(key.size());
        for (int i = 0; i < converters.length; i++) {
            converters[i] = Converters.forColumn(id, key.get(i), config.numericMapping(), config.timePrecisionMode());
            select.add(converters[i].selectExpression(Sql.quoteIdentifier(key.get(i).name())));
        }
        double percent = Math.min(100.0, Math.max(0.0001,
                100.0 * SAMPLE_ROWS / Math.max(1, table.info().estimatedRows())));
        String sql = "SELECT " + String.join(", ", select) + " FROM "
                + (table.info().kind().readWithOnly() ? "ONLY " : "") + id.quoted()
                + String.format(Locale.ROOT, " TABLESAMPLE SYSTEM (%.6f)", percent)
                + " ORDER BY " + Sql.quotedList(key.stream().map(ColumnInfo::name).toList());
        List<List<Object>> sample = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            rows:
            while (rs.next()) {
                Object[] values = new Object[converters.length];
                for (int i = 0; i < converters.length; i++) {
                    Object raw = converters[i].read(rs, i + 1);
                    if (raw == null) {
                        continue rows; // a NULL key is never read by a keyset anyway
                    }
                    values[i] = converters[i].toOffset(raw);
                }
                sample.add(Arrays.asList(values));
            }
        }
        return boundaries(sample, ranges);
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
