package dev.pgkeyset.connect.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The sequence behind an integer tracking column, found the ways PostgreSQL links them: an owned
 * sequence (serial, identity: {@code pg_get_serial_sequence}) or one the column's default calls
 * ({@code nextval('s')}, recorded in {@code pg_depend} from the default). The sequence horizon
 * assumes values are handed out in order; with {@code CACHE > 1} each session takes a block, and a
 * session's next value can be far below a value another session already committed.
 */
public final class TrackingSequence {

    /** @param name the sequence, as regclass text (quoted where needed); cache its {@code seqcache} */
    public record Found(String name, long cache) {
    }

    private TrackingSequence() {
    }

    public static Optional<Found> of(Connection connection, TableId table, String column) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT s.seqrelid::regclass::pg_catalog.text, s.seqcache"
                + " FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(?, ?)::regclass"
                + " OR s.seqrelid IN (SELECT d.refobjid FROM pg_attrdef ad JOIN pg_depend d"
                + " ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass"
                + " JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"
                + " WHERE ad.adrelid = ?::regclass AND a.attname = ?)"
                + " ORDER BY s.seqcache DESC LIMIT 1")) {
            st.setString(1, table.quoted());
            st.setString(2, column);
            st.setString(3, table.quoted());
            st.setString(4, column);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(new Found(rs.getString(1), rs.getLong(2))) : Optional.empty();
            }
        }
    }

    public static String cachedProblem(TableId table, String column, Found sequence) {
        return "Table " + table + ": tracking column " + column + " is filled from sequence " + sequence.name()
                + " with CACHE " + sequence.cache() + ": each session takes a block of values, so a session's next "
                + "value can commit below one another session committed earlier, and would be skipped. Run ALTER "
                + "SEQUENCE " + sequence.name() + " CACHE 1, or track another column.";
    }

    public static String notFoundWarning(TableId table, String column) {
        return "Table " + table + ": no sequence found behind tracking column " + column + " (no serial, identity or "
                + "nextval default). Following its changes assumes the values are handed out in increasing order as a "
                + "CACHE 1 sequence's nextval does, taken inside the writing transaction; values set otherwise "
                + "(by the application, a trigger reading a cached sequence) can be skipped.";
    }
}
