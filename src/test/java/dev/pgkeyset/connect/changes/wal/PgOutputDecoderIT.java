package dev.pgkeyset.connect.changes.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Begin;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Commit;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Delete;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Insert;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.LogicalMessage;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Origin;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Relation;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.RelationColumn;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Truncate;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.TupleData;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Type;
import dev.pgkeyset.connect.changes.wal.PgOutputMessage.Update;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.TestSlot;

/**
 * The decoder on real pgoutput bytes: each scenario's changes are taken from a real slot with
 * {@code pg_logical_slot_get_binary_changes} (each row's {@code data} is one message, as one
 * XLogData of the stream carries it), and every expectation comes from PostgreSQL: column text
 * from {@code col::text}, oids and typmods from the catalog, LSNs and xids from the SQL functions.
 */
class PgOutputDecoderIT {

    private static final String TABLE = "\"Schéma\".\"Tëst \"\"tab\"\"\"";

    private static TestDatabase db;
    private static TestSlot slot;
    private static Connection c;

    @BeforeAll
    static void setUp() throws SQLException {
        db = PostgresFixture.createDatabase("wal_stream_decoder");
        db.execute("CREATE SCHEMA \"Schéma\"",
                "CREATE TYPE \"Schéma\".mood AS ENUM ('happy', 'sad')",
                "CREATE TABLE " + TABLE + " (id int PRIMARY KEY, \"Nöte\" text, amount numeric(10,2),"
                        + " tags text[], m \"Schéma\".mood, at timestamptz, big text, v varchar(17))",
                "ALTER TABLE " + TABLE + " ALTER COLUMN big SET STORAGE EXTERNAL",
                "CREATE TABLE full_rows (id int PRIMARY KEY, note text, big text)",
                "ALTER TABLE full_rows REPLICA IDENTITY FULL",
                "ALTER TABLE full_rows ALTER COLUMN big SET STORAGE EXTERNAL",
                "CREATE TABLE parent (id int PRIMARY KEY)",
                "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
                "CREATE TABLE counted (id serial PRIMARY KEY, note text)");
        slot = db.createSlot();
        c = db.connect();
    }

    @AfterAll
    static void tearDown() throws SQLException {
        try {
            if (c != null) {
                c.close();
            }
        } finally {
            try {
                if (slot != null) {
                    slot.close();
                }
            } finally {
                db.close();
            }
        }
    }

    /** One row of {@code pg_logical_slot_get_binary_changes}, decoded. */
    record Change(String lsn, long xid, PgOutputMessage message) {
    }

    /** Runs {@code sql} (autocommit: each statement its own transaction unless it says BEGIN), then takes the changes. */
    private static List<Change> changes(String... sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
        return takeChanges();
    }

    private static List<Change> takeChanges() throws SQLException {
        List<Change> changes = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT lsn::text, xid::text::bigint, data"
                + " FROM pg_logical_slot_get_binary_changes(?, NULL, NULL, 'proto_version', '1',"
                + " 'publication_names', ?, 'messages', 'true')")) {
            st.setString(1, slot.slot());
            st.setString(2, slot.publication());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    changes.add(new Change(rs.getString(1), rs.getLong(2), PgOutputDecoder.decode(ByteBuffer.wrap(rs.getBytes(3)))));
                }
            }
        }
        return changes;
    }

    private static <T extends PgOutputMessage> List<T> only(List<Change> changes, Class<T> kind) {
        return changes.stream().map(Change::message).filter(kind::isInstance).map(kind::cast).toList();
    }

    private static <T extends PgOutputMessage> T single(List<Change> changes, Class<T> kind) {
        List<T> found = only(changes, kind);
        assertEquals(1, found.size(), () -> "one " + kind.getSimpleName() + " in " + changes);
        return found.get(0);
    }

    private static String text(String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static long number(String sql) throws SQLException {
        return Long.parseLong(text(sql));
    }

    /** Each column's {@code ::text} of the row, NULL as null, in column order. */
    private static String[] rowTexts(String table, String where) throws SQLException {
        List<String> columns = columns(table);
        String select = columns.stream().map(col -> quote(col) + "::text").collect(Collectors.joining(", "));
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT " + select + " FROM " + table + " WHERE " + where)) {
            assertTrue(rs.next(), "row " + where + " of " + table);
            String[] texts = new String[columns.size()];
            for (int i = 0; i < texts.length; i++) {
                texts[i] = rs.getString(i + 1);
            }
            return texts;
        }
    }

    private static List<String> columns(String table) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT attname FROM pg_attribute"
                + " WHERE attrelid = '" + table.replace("'", "''") + "'::regclass AND attnum > 0 AND NOT attisdropped"
                + " ORDER BY attnum")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static void assertTexts(String[] expected, TupleData tuple) {
        assertEquals(expected.length, tuple.size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i] == null ? TupleData.NULL : TupleData.TEXT, tuple.kinds()[i], "kind of column " + i);
            assertEquals(expected[i], tuple.texts()[i], "column " + i);
        }
    }

    /** Random hex of {@code chars} characters: pglz cannot shrink it, so it stays out of line. */
    private static String incompressible(int chars) {
        return "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, " + (chars / 32) + "))";
    }

    @Test
    void beginInsertCommitAndRelationAndType() throws SQLException {
        String before = text("SELECT extract(epoch FROM clock_timestamp())::text");
        List<Change> changes = changes("BEGIN",
                "INSERT INTO " + TABLE + " VALUES (1, 'grüße \"quoted\" \\ back', 1234.5, ARRAY['a b', NULL, 'ç'],"
                        + " 'sad', '2024-02-29 12:34:56.789+05:30', NULL, 'short')",
                "CREATE TEMP TABLE xid_of AS SELECT pg_current_xact_id()::text::bigint AS xid",
                "COMMIT");
        String after = text("SELECT extract(epoch FROM clock_timestamp())::text");
        long xid = number("SELECT xid FROM xid_of");
        c.createStatement().execute("DROP TABLE xid_of");

        Begin begin = assertInstanceOf(Begin.class, changes.get(0).message());
        Commit commit = assertInstanceOf(Commit.class, changes.get(changes.size() - 1).message());
        assertEquals(xid, begin.xid());
        assertEquals(xid, changes.get(0).xid());
        assertEquals(begin.finalLsn(), commit.commitLsn());
        // The commit row's lsn is where the output was written: the end of the commit record.
        assertEquals(Lsn.parse(changes.get(changes.size() - 1).lsn()), commit.endLsn());
        assertTrue(Lsn.compare(commit.commitLsn(), commit.endLsn()) < 0);
        assertEquals(commit.commitTimeMicros(), begin.commitTimeMicros());
        double committedAt = commit.commitTimeMicros() / 1e6 + 946_684_800L;
        assertTrue(committedAt >= Double.parseDouble(before) && committedAt <= Double.parseDouble(after),
                committedAt + " between " + before + " and " + after);

        Type type = single(changes, Type.class);
        assertEquals(number("SELECT '\"Schéma\".mood'::regtype::oid"), Integer.toUnsignedLong(type.oid()));
        assertEquals("Schéma", type.schema());
        assertEquals("mood", type.name());

        Relation relation = single(changes, Relation.class);
        assertEquals(number("SELECT '" + TABLE + "'::regclass::oid"), Integer.toUnsignedLong(relation.oid()));
        assertEquals("Schéma", relation.schema());
        assertEquals("Tëst \"tab\"", relation.table());
        assertEquals(text("SELECT relreplident FROM pg_class WHERE oid = '" + TABLE + "'::regclass").charAt(0),
                relation.replicaIdentity());
        assertRelationColumns(TABLE, relation);

        Insert insert = single(changes, Insert.class);
        assertEquals(relation.oid(), insert.relationOid());
        assertTexts(rowTexts(TABLE, "id = 1"), insert.newTuple());
    }

    /** Names, type oids, typmods and key flags as the catalog has them. */
    private static void assertRelationColumns(String table, Relation relation) throws SQLException {
        List<RelationColumn> expected = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT a.attname, a.atttypid,"
                + " a.atttypmod, coalesce(a.attnum = ANY (i.indkey), false) FROM pg_attribute a"
                + " LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary"
                + " WHERE a.attrelid = '" + table + "'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
                + " ORDER BY a.attnum")) {
            while (rs.next()) {
                expected.add(new RelationColumn(rs.getString(1), (int) rs.getLong(2), rs.getInt(3), rs.getBoolean(4)));
            }
        }
        assertEquals(expected, relation.columns());
    }

    @Test
    void updateLeavingToastUnchangedMarksItU() throws SQLException {
        changes("INSERT INTO " + TABLE + " (id, \"Nöte\", big) VALUES (2, 'before', " + incompressible(4096) + ")");
        String toast = text("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = '" + TABLE + "'::regclass");
        assertTrue(number("SELECT count(*) FROM " + toast) > 0, "big went out of line");

        Update update = single(changes("UPDATE " + TABLE + " SET \"Nöte\" = 'after' WHERE id = 2"), Update.class);

        assertEquals(0, update.oldKind());
        assertNull(update.oldTuple());
        String[] row = rowTexts(TABLE, "id = 2");
        int big = columns(TABLE).indexOf("big");
        assertEquals(TupleData.UNCHANGED_TOAST, update.newTuple().kinds()[big]);
        assertNull(update.newTuple().texts()[big]);
        for (int i = 0; i < row.length; i++) {
            if (i != big) {
                assertEquals(row[i], update.newTuple().texts()[i], "column " + i);
            }
        }
        assertTrue(row[big].length() >= 4096);
    }

    @Test
    void keyChangingUpdateAndDeleteSendTheOldKey() throws SQLException {
        changes("INSERT INTO " + TABLE + " (id, \"Nöte\") VALUES (3, 'three')");
        String[] oldRow = rowTexts(TABLE, "id = 3");

        Update update = single(changes("UPDATE " + TABLE + " SET id = 33 WHERE id = 3"), Update.class);
        assertEquals('K', update.oldKind());
        assertKeyOnly(oldRow, update.oldTuple());
        assertTexts(rowTexts(TABLE, "id = 33"), update.newTuple());

        String[] deleted = rowTexts(TABLE, "id = 33");
        Delete delete = single(changes("DELETE FROM " + TABLE + " WHERE id = 33"), Delete.class);
        assertEquals('K', delete.oldKind());
        assertKeyOnly(deleted, delete.oldTuple());
    }

    /** Key columns (id, the first) as the row had them, every other column NULL. */
    private static void assertKeyOnly(String[] row, TupleData old) {
        assertEquals(row.length, old.size());
        assertEquals(TupleData.TEXT, old.kinds()[0]);
        assertEquals(row[0], old.texts()[0]);
        for (int i = 1; i < row.length; i++) {
            assertEquals(TupleData.NULL, old.kinds()[i], "non-key column " + i);
        }
    }

    @Test
    void replicaIdentityFullSendsTheWholeOldRowWithItsToastValue() throws SQLException {
        List<Change> inserted = changes("INSERT INTO full_rows VALUES (1, 'before', " + incompressible(4096) + ")");
        assertEquals('f', single(inserted, Relation.class).replicaIdentity());
        String[] before = rowTexts("full_rows", "id = 1");

        Update update = single(changes("UPDATE full_rows SET note = 'after' WHERE id = 1"), Update.class);

        assertEquals('O', update.oldKind());
        assertTexts(before, update.oldTuple());
        String[] after = rowTexts("full_rows", "id = 1");
        assertEquals(TupleData.UNCHANGED_TOAST, update.newTuple().kinds()[2]);
        assertEquals(after[0], update.newTuple().texts()[0]);
        assertEquals(after[1], update.newTuple().texts()[1]);

        Delete delete = single(changes("DELETE FROM full_rows WHERE id = 1"), Delete.class);
        assertEquals('O', delete.oldKind());
        assertTexts(after, delete.oldTuple());
    }

    @Test
    void truncateCascadeAndRestartIdentity() throws SQLException {
        changes("INSERT INTO parent VALUES (1)", "INSERT INTO child VALUES (1, 1)", "INSERT INTO counted (note) VALUES ('x')");
        Set<Long> expected = Set.of(number("SELECT 'parent'::regclass::oid"), number("SELECT 'child'::regclass::oid"));

        Truncate cascade = single(changes("TRUNCATE parent CASCADE"), Truncate.class);
        assertEquals(expected, cascade.relationOids().stream().map(Integer::toUnsignedLong).collect(Collectors.toSet()));
        assertTrue(cascade.cascade());
        assertFalse(cascade.restartIdentity());

        Truncate restart = single(changes("TRUNCATE counted RESTART IDENTITY"), Truncate.class);
        assertEquals(List.of(number("SELECT 'counted'::regclass::oid")),
                restart.relationOids().stream().map(Integer::toUnsignedLong).toList());
        assertFalse(restart.cascade());
        assertTrue(restart.restartIdentity());
    }

    @Test
    void renamedColumnComesWithANewRelation() throws SQLException {
        db.execute("CREATE TABLE renamed (id int PRIMARY KEY, old_name text)");
        changes("INSERT INTO renamed VALUES (1, 'a')");

        List<Change> changes = changes("ALTER TABLE renamed RENAME COLUMN old_name TO \"New Näme\"",
                "INSERT INTO renamed VALUES (2, 'b')");

        Relation relation = single(changes, Relation.class);
        assertEquals(List.of("id", "New Näme"), relation.columns().stream().map(RelationColumn::name).toList());
        assertRelationColumns("renamed", relation);
        assertTexts(rowTexts("renamed", "id = 2"), single(changes, Insert.class).newTuple());
    }

    @Test
    void logicalMessagesTransactionalOrNot() throws SQLException {
        c.setAutoCommit(false);
        String transactionalLsn = text("SELECT pg_logical_emit_message(true, 'pgkeyset-test', 'in a transaction é')::text");
        c.commit();
        c.setAutoCommit(true);
        String plainLsn = text("SELECT pg_logical_emit_message(false, 'pgkeyset-test', '\\x00ff'::bytea)::text");
        // A non-transactional message is not flushed by itself, and decoding stops at the flushed
        // end of the WAL: a commit with an xid (a temp table's catalog rows, no change) flushes it.
        db.execute("CREATE TEMP TABLE flush_wal ()");

        List<LogicalMessage> messages = only(takeChanges(), LogicalMessage.class);

        assertEquals(2, messages.size(), messages::toString);
        assertTrue(messages.get(0).transactional());
        assertEquals(Lsn.parse(transactionalLsn), messages.get(0).lsn());
        assertEquals("pgkeyset-test", messages.get(0).prefix());
        assertArrayEquals("in a transaction é".getBytes(StandardCharsets.UTF_8), messages.get(0).content());
        assertFalse(messages.get(1).transactional());
        assertEquals(Lsn.parse(plainLsn), messages.get(1).lsn());
        assertArrayEquals(new byte[] {0, (byte) 0xff}, messages.get(1).content());
    }

    @Test
    void originOfAReplicatedTransaction() throws SQLException {
        String origin = db.name() + "_origin";
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_replication_origin_create('" + origin + "')");
            try {
                st.execute("SELECT pg_replication_origin_session_setup('" + origin + "')");
                c.setAutoCommit(false);
                st.execute("SELECT pg_replication_origin_xact_setup('1/ABCDEF12', now())");
                st.execute("INSERT INTO counted (note) VALUES ('from elsewhere')");
                c.commit();
            } finally {
                c.setAutoCommit(true);
                st.execute("SELECT pg_replication_origin_session_reset()");
                st.execute("SELECT pg_replication_origin_drop('" + origin + "')");
            }
        }

        Origin decoded = single(takeChanges(), Origin.class);

        assertEquals(origin, decoded.name());
        assertEquals(Lsn.parse("1/ABCDEF12"), decoded.lsn());
    }
}
