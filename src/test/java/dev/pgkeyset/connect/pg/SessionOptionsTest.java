package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class SessionOptionsTest {

    @Test
    void aUrlWithoutOptionsIsUnchanged() {
        SessionOptions.SplitUrl split = SessionOptions.split("jdbc:postgresql://h:5432/db?sslmode=require");
        assertEquals("jdbc:postgresql://h:5432/db?sslmode=require", split.url());
        assertNull(split.userOptions());
        assertEquals("jdbc:postgresql://h/db", SessionOptions.split("jdbc:postgresql://h/db").url());
    }

    @Test
    void theUsersOptionsLeaveTheUrlDecoded() {
        SessionOptions.SplitUrl split = SessionOptions.split(
                "jdbc:postgresql://h/db?sslmode=require&options=-c%20search_path%3Dapp&ApplicationName=x");
        assertEquals("jdbc:postgresql://h/db?sslmode=require&ApplicationName=x", split.url());
        assertEquals("-c search_path=app", split.userOptions());
        assertEquals("jdbc:postgresql://h/db", SessionOptions.split("jdbc:postgresql://h/db?options=-c%20a%3Db").url());
    }

    @Test
    void malformedOptionsStayForTheDriverToReport() {
        SessionOptions.SplitUrl split = SessionOptions.split("jdbc:postgresql://h/db?options=%zz");
        assertEquals("jdbc:postgresql://h/db?options=%zz", split.url());
        assertNull(split.userOptions());
    }

    @Test
    void oursComeAfterTheUsersSoTheyWin() {
        String merged = SessionOptions.merged("-c IntervalStyle=postgres");
        assertTrue(merged.startsWith("-c IntervalStyle=postgres -c "), merged);
        assertTrue(merged.indexOf("IntervalStyle=iso_8601") > merged.indexOf("IntervalStyle=postgres"), merged);
        assertTrue(merged.contains("-c default_transaction_isolation=read\\ committed"), merged);
        assertTrue(SessionOptions.merged(null).startsWith("-c extra_float_digits=1 "), SessionOptions.merged(null));
    }

    @Test
    void theReplicationSessionAlsoPinsLcMonetary() {
        String replication = SessionOptions.mergedForReplication("-c lc_monetary=de_DE");
        assertTrue(replication.startsWith(SessionOptions.merged("-c lc_monetary=de_DE")), replication);
        assertTrue(replication.endsWith(" -c lc_monetary=C"), replication);
        assertTrue(!SessionOptions.merged(null).contains("lc_monetary"), "normal sessions keep the server's");
    }

    @Test
    void socketTimeoutRoundsUpToSeconds() {
        assertEquals(0, ConnectionFactory.socketTimeoutSeconds(Duration.ZERO));
        assertEquals(1, ConnectionFactory.socketTimeoutSeconds(Duration.ofMillis(1)));
        assertEquals(2, ConnectionFactory.socketTimeoutSeconds(Duration.ofMillis(2000)));
        assertEquals(3, ConnectionFactory.socketTimeoutSeconds(Duration.ofMillis(2001)));
    }

    @Test
    void aTaskPoolHoldsWhatItsReadersNeed() {
        assertEquals(1, ConnectionFactory.connectionsPerTask(1));
        assertEquals(2, ConnectionFactory.connectionsPerTask(2));
        assertEquals(2, ConnectionFactory.connectionsPerTask(40));
    }
}
