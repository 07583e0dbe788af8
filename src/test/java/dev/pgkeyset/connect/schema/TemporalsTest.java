package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

class TemporalsTest {

    @Test
    void textFormsArePostgresOwn() {
        assertEquals("2024-02-29", Temporals.pgText(LocalDate.of(2024, 2, 29)));
        assertEquals("0001-01-01 BC", Temporals.pgText(LocalDate.of(0, 1, 1)), "proleptic year 0 is 1 BC");
        assertEquals("0045-03-15 BC", Temporals.pgText(LocalDate.of(-44, 3, 15)));
        assertEquals("10000-01-01", Temporals.pgText(LocalDate.of(10000, 1, 1)));
        assertEquals("infinity", Temporals.pgText(LocalDate.MAX));
        assertEquals("-infinity", Temporals.pgText(LocalDateTime.MIN));
        assertEquals("0045-03-15 12:00:00.000001 BC", Temporals.pgText(LocalDateTime.of(-44, 3, 15, 12, 0, 0, 1000)));
        assertEquals("2024-01-01 22:00:00.500000+00",
                Temporals.pgText(OffsetDateTime.of(2024, 1, 2, 0, 0, 0, 500_000_000, ZoneOffset.ofHours(2))));
    }

    @Test
    void infinitiesBecomeTheExtremes() {
        assertEquals(Long.MAX_VALUE, Temporals.epochMicros(Temporals.instant(OffsetDateTime.MAX)));
        assertEquals(Long.MIN_VALUE, Temporals.epochMillis(Temporals.instant(LocalDateTime.MIN)));
        assertEquals(Integer.MAX_VALUE, Temporals.epochDays(LocalDate.MAX));
    }
}
