package dev.pgkeyset.connect.schema;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * Dates and times between pgjdbc's java.time values and their other forms. pgjdbc returns
 * {@code infinity}/{@code -infinity} as the MAX/MIN constants and BC dates as proleptic years
 * (1 BC is year 0), neither of which PostgreSQL reads back from {@code toString()}: the text form
 * here is PostgreSQL's own, so offsets holding such keys resume exactly.
 */
public final class Temporals {

    /** Days of a Connect Date for ±infinity: the extremes an INT32 Date holds. */
    static final int INFINITY_DAYS = Integer.MAX_VALUE;

    private Temporals() {
    }

    public static String pgText(LocalDate date) {
        if (date.equals(LocalDate.MAX)) {
            return "infinity";
        }
        if (date.equals(LocalDate.MIN)) {
            return "-infinity";
        }
        return datePart(date) + era(date);
    }

    public static String pgText(LocalDateTime timestamp) {
        if (timestamp.equals(LocalDateTime.MAX)) {
            return "infinity";
        }
        if (timestamp.equals(LocalDateTime.MIN)) {
            return "-infinity";
        }
        return datePart(timestamp.toLocalDate()) + " " + timePart(timestamp.toLocalTime()) + era(timestamp.toLocalDate());
    }

    public static String pgText(OffsetDateTime timestamp) {
        if (timestamp.equals(OffsetDateTime.MAX)) {
            return "infinity";
        }
        if (timestamp.equals(OffsetDateTime.MIN)) {
            return "-infinity";
        }
        LocalDateTime utc = timestamp.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime();
        return datePart(utc.toLocalDate()) + " " + timePart(utc.toLocalTime()) + "+00" + era(utc.toLocalDate());
    }

    public static String pgText(LocalTime time) {
        return timePart(time);
    }

    private static String datePart(LocalDate date) {
        int year = date.getYear() <= 0 ? 1 - date.getYear() : date.getYear();
        return String.format("%04d-%02d-%02d", year, date.getMonthValue(), date.getDayOfMonth());
    }

    private static String era(LocalDate date) {
        return date.getYear() <= 0 ? " BC" : "";
    }

    private static String timePart(LocalTime time) {
        return String.format("%02d:%02d:%02d.%06d", time.getHour(), time.getMinute(), time.getSecond(),
                time.getNano() / 1000);
    }

    /** Days since the epoch for a Connect Date; ±infinity become the INT32 extremes. */
    static long epochDays(LocalDate date) {
        if (date.equals(LocalDate.MAX)) {
            return INFINITY_DAYS;
        }
        if (date.equals(LocalDate.MIN)) {
            return -INFINITY_DAYS;
        }
        return date.toEpochDay();
    }

    /** Milliseconds since the epoch; ±infinity (or anything beyond a long) become Long.MAX/MIN. */
    static long epochMillis(java.time.Instant instant) {
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException outOfRange) {
            return instant.isAfter(java.time.Instant.EPOCH) ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
    }

    /** Microseconds since the epoch; ±infinity become Long.MAX/MIN. */
    static long epochMicros(java.time.Instant instant) {
        try {
            return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
        } catch (ArithmeticException outOfRange) {
            return instant.isAfter(java.time.Instant.EPOCH) ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
    }

    static java.time.Instant instant(LocalDateTime timestamp) {
        if (timestamp.equals(LocalDateTime.MAX)) {
            return java.time.Instant.MAX;
        }
        if (timestamp.equals(LocalDateTime.MIN)) {
            return java.time.Instant.MIN;
        }
        return timestamp.toInstant(ZoneOffset.UTC);
    }

    static java.time.Instant instant(OffsetDateTime timestamp) {
        if (timestamp.equals(OffsetDateTime.MAX)) {
            return java.time.Instant.MAX;
        }
        if (timestamp.equals(OffsetDateTime.MIN)) {
            return java.time.Instant.MIN;
        }
        return timestamp.toInstant();
    }

    static long microsOfDay(LocalTime time) {
        return time.toNanoOfDay() / 1000;
    }

    static long millisOfDay(LocalTime time) {
        return time.truncatedTo(ChronoUnit.MILLIS).toNanoOfDay() / 1_000_000L;
    }
}
