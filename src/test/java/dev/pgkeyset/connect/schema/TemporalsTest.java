package dev.pgkeyset.connect.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.testing.DefaultLocale;

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

    @Test
    void textFormsParseBackToTheSameValue() {
        for (String date : new String[] {"2024-02-29", "0001-01-01 BC", "0045-03-15 BC", "294276-12-31", "infinity",
                "-infinity"}) {
            assertEquals(date, Temporals.pgText(Temporals.parseDate(date)));
        }
        for (String stamp : new String[] {"2024-05-01 10:00:00.000001", "0045-03-15 12:00:00.000001 BC", "infinity"}) {
            assertEquals(stamp, Temporals.pgText(Temporals.parseTimestamp(stamp)));
        }
        assertEquals("13:14:15.123456", Temporals.pgText(Temporals.parseTime("13:14:15.123456")));
        assertEquals("24:00:00", Temporals.pgText(Temporals.parseTime("24:00:00")), "the end of the day survives");
        assertEquals(86_400_000L, Temporals.millisOfDay(Temporals.parseTime("24:00:00")));
    }

    @Test
    void timestamptzTextInAnySessionZoneIsTheSameInstant() {
        OffsetDateTime expected = OffsetDateTime.parse("2024-05-01T08:00:00.5Z");
        assertEquals(expected.toInstant(), Temporals.parseTimestamptz("2024-05-01 10:00:00.5+02").toInstant());
        assertEquals(expected.toInstant(), Temporals.parseTimestamptz("2024-05-01 02:30:00.5-05:30").toInstant());
        assertEquals(OffsetDateTime.parse("1890-01-01T00:00:00Z").toInstant(),
                Temporals.parseTimestamptz("1890-01-01 00:53:28+00:53:28").toInstant(), "LMT offsets have seconds");
        assertEquals("0045-03-15 12:00:00.000000+00 BC",
                Temporals.pgText(Temporals.parseTimestamptz("0045-03-15 12:00:00+00 BC")));
        assertEquals(OffsetDateTime.MAX, Temporals.parseTimestamptz("infinity"));
    }

    /** Offsets hold these texts and PostgreSQL reads them back: ASCII digits, whatever the JVM's locale. */
    @Test
    void textFormsIgnoreTheDefaultLocale() {
        for (java.util.Locale locale : DefaultLocale.HOSTILE) {
            DefaultLocale.under(locale, () -> {
                assertEquals("2024-02-29", Temporals.pgText(LocalDate.of(2024, 2, 29)), locale.toLanguageTag());
                assertEquals("0045-03-15 12:00:00.000001 BC",
                        Temporals.pgText(LocalDateTime.of(-44, 3, 15, 12, 0, 0, 1000)), locale.toLanguageTag());
                assertEquals("2024-01-01 22:00:00.500000+00", Temporals.pgText(
                        OffsetDateTime.of(2024, 1, 2, 0, 0, 0, 500_000_000, ZoneOffset.ofHours(2))),
                        locale.toLanguageTag());
                assertEquals("13:14:15.123456", Temporals.pgText(java.time.LocalTime.of(13, 14, 15, 123_456_000)),
                        locale.toLanguageTag());
                textFormsParseBackToTheSameValue();
                timestamptzTextInAnySessionZoneIsTheSameInstant();
            });
        }
    }
}
