package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

/** The errors a fetch over pgjdbc's maxResultBuffer is told apart from. */
class SqlErrorsTest {

    private static final long LIMIT = 32_440_320;

    @Test
    void pgjdbcsMessageInEnglishAndTranslatedIsAResultBufferOverrun() {
        // pgjdbc 42.7.14's message, and its Russian translation (the limit's digits stay).
        assertTrue(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  33595411; Current limit: 32440320", "08S01"), LIMIT));
        assertTrue(SqlErrors.isResultBufferExceeded(new SQLException(
                "Результат превысил лимит maxResultBuffer. Получено: 33595411; текущий лимит: 32440320", "08S01"), LIMIT));
    }

    @Test
    void aLostConnectionOrAnotherLimitIsNot() {
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "An I/O error occurred while sending to the backend.", "08S01", new IOException("reset")), LIMIT));
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  20; Current limit: 10", "08S01"), LIMIT));
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  33595411; Current limit: 32440320", "08006"), LIMIT));
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  33595411; Current limit: 32440320", "08S01"), -1));
    }

    @Test
    void aRealLossOfConnectionStaysTransient() {
        assertTrue(SqlErrors.isTransient(new SQLException("An I/O error occurred", "08S01", new IOException())));
    }
}
