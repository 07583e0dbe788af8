package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

/** The errors a fetch over pgjdbc's maxResultBuffer is told apart from. */
class SqlErrorsTest {

    @Test
    void pgjdbcsMessageInEnglishAndTranslatedIsAResultBufferOverrun() {
        // pgjdbc 42.7.14's message, and its Russian translation.
        assertTrue(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  33595411; Current limit: 32440320", "08S01")));
        assertTrue(SqlErrors.isResultBufferExceeded(new SQLException(
                "Результат превысил лимит maxResultBuffer. Получено: 33595411; текущий лимит: 32440320", "08S01")));
    }

    @Test
    void aLostConnectionIsNot() {
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "An I/O error occurred while sending to the backend.", "08S01", new IOException("reset"))));
        assertFalse(SqlErrors.isResultBufferExceeded(new SQLException(
                "Result set exceeded maxResultBuffer limit. Received:  33595411; Current limit: 32440320", "08006")));
    }

    @Test
    void aRealLossOfConnectionStaysTransient() {
        assertTrue(SqlErrors.isTransient(new SQLException("An I/O error occurred", "08S01", new IOException())));
    }
}
