package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.List;

import org.junit.jupiter.api.Test;

class SqlTest {

    @Test
    void quotesEveryIdentifierAndDoublesQuotes() {
        assertEquals("\"orders\"", Sql.quoteIdentifier("orders"));
        assertEquals("\"Mixed Case\"", Sql.quoteIdentifier("Mixed Case"));
        assertEquals("\"a\"\"; drop table x; --\"", Sql.quoteIdentifier("a\"; drop table x; --"));
        assertEquals("\"a\", \"b\"", Sql.quotedList(List.of("a", "b")));
        assertEquals("\"s\".\"t\"", new TableId("s", "t").quoted());
        assertThrows(IllegalArgumentException.class, () -> Sql.quoteIdentifier("a\0b"));
    }

    @Test
    void sqlStateDecidesWhatIsTransient() {
        assertTrue(SqlErrors.isTransient(new SQLException("gone", "08006")));
        assertTrue(SqlErrors.isTransient(new SQLException("admin", "57P01")));
        assertTrue(SqlErrors.isTransient(new SQLException("serialization", "40001")));
        assertTrue(SqlErrors.isTransient(new SQLException("too many connections", "53300")));
        assertTrue(SqlErrors.isTransient(new SQLException("statement timeout", "57014")));
        assertFalse(SqlErrors.isTransient(new SQLException("auth", "28P01")));
        assertFalse(SqlErrors.isTransient(new SQLException("no table", "42P01")));
        assertFalse(SqlErrors.isTransient(new SQLException("no privilege", "42501")));
    }

    @Test
    void runningOutOfThisJvmsMemoryIsFatalTheServersIsNot() {
        // pgjdbc's own 53200 carries the OutOfMemoryError it caught while buffering a fetch.
        SQLException client = new SQLException("Ran out of memory retrieving query results.", "53200",
                new OutOfMemoryError("Java heap space"));
        assertTrue(SqlErrors.isClientOutOfMemory(client));
        assertFalse(SqlErrors.isTransient(client));
        SQLException server = new SQLException("out of memory", "53200");
        assertFalse(SqlErrors.isClientOutOfMemory(server));
        assertTrue(SqlErrors.isTransient(server), "the server's memory may come back");
    }

    @Test
    void aDescriptionSaysWhatToChangeWhereTheDatabaseDoesNot() {
        assertEquals("gone (SQLState 08006)", SqlErrors.describe(new SQLException("gone", "08006")));
        String privilege = SqlErrors.describe(new SQLException("permission denied for table t", "42501"));
        assertTrue(privilege.startsWith("permission denied for table t (SQLState 42501). ")
                && privilege.contains("SELECT") && privilege.contains("USAGE"), privilege);
        String timeout = SqlErrors.describe(new SQLException("canceling statement due to statement timeout", "57014"));
        assertTrue(timeout.contains("statement_timeout") && timeout.contains("fetch.size"), timeout);
    }

    @Test
    void aNameThatDoesNotResolveIsATransientConnectionFailure() {
        // What a DNS failure looks like to the reader when it reconnects: pgjdbc's own exception.
        java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                () -> java.sql.DriverManager.getConnection(
                        "jdbc:postgresql://pgkeyset-no-such-host.invalid:5432/db?connectTimeout=2", "u", "p").close());
        assertTrue(e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
        assertTrue(SqlErrors.isTransient(e));
    }
}
