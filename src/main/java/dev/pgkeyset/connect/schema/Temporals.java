package dev.pgkeyset.connect.schema;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * Dates and times between pgjdbc's java.time values and their other forms. pgjdbc returns
 * {@code infinity}/{@code -infinity} as the MAX/MIN constants and BC dates as proleptic years
 * (1 BC is year 0), neither of which PostgreSQL reads back from {@code toString()}: the text form
 * here is PostgreSQL's own, so offsets holding such keys resume exactly. Every text is formatted
 * under {@link Locale#ROOT}: under the JVM's default locale ({@code ar-SA}, {@code fa-IR},
 * {@code th-TH-u-nu-thai}) {@code %d} writes digits PostgreSQL does not read.
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
        return time.equals(LocalTime.MAX) ? END_OF_DAY : timePart(time);
    }

    private static String datePart(LocalDate date) {
        int year = date.getYear() <= 0 ? 1 - date.getYear() : date.getYear();
        return String.format(Locale.ROOT, "%04d-%02d-%02d", year, date.getMonthValue(), date.getDayOfMonth());
    }

    private static String era(LocalDate date) {
        return date.getYear() <= 0 ? " BC" : "";
    }

    private static String timePart(LocalTime time) {
        return String.format(Locale.ROOT, "%02d:%02d:%02d.%06d", time.getHour(), time.getMinute(), time.getSecond(),
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

    /** PostgreSQL's {@code 24:00:00}, which pgjdbc reads as LocalTime.MAX: the whole day, as Connect's Time allows. */
    private static final String END_OF_DAY = "24:00:00";

    static long microsOfDay(LocalTime time) {
        return time.equals(LocalTime.MAX) ? 86_400_000_000L : time.toNanoOfDay() / 1000;
    }

    static long millisOfDay(LocalTime time) {
        return time.equals(LocalTime.MAX) ? 86_400_000L : time.truncatedTo(ChronoUnit.MILLIS).toNanoOfDay() / 1_000_000L;
    }

    // PostgreSQL's text forms under DateStyle ISO (pgjdbc's setting), as they appear inside arrays.

    /** {@code 2024-05-01}, {@code 0045-03-15 BC}, {@code 294276-12-31}, {@code ±infinity}. */
    static LocalDate parseDate(String text) {
        if (text.equals("infinity")) {
            return LocalDate.MAX;
        }
        if (text.equals("-infinity")) {
            return LocalDate.MIN;
        }
        boolean bc = text.endsWith(" BC");
        String ymd = bc ? text.substring(0, text.length() - 3) : text;
        int firstDash = ymd.indexOf('-');
        int year = Integer.parseInt(ymd.substring(0, firstDash));
        int month = Integer.parseInt(ymd.substring(firstDash + 1, firstDash + 3));
        int day = Integer.parseInt(ymd.substring(firstDash + 4, firstDash + 6));
        return LocalDate.of(bc ? 1 - year : year, month, day);
    }

    /** {@code 13:14:15[.123456]}; PostgreSQL's {@code 24:00:00} becomes LocalTime.MAX, as pgjdbc reads it. */
    static LocalTime parseTime(String text) {
        return text.startsWith("24:") ? LocalTime.MAX : LocalTime.parse(text);
    }

    /** {@code 2024-05-01 10:00:00[.000001][ BC]} or {@code ±infinity}. */
    static LocalDateTime parseTimestamp(String text) {
        if (text.equals("infinity")) {
            return LocalDateTime.MAX;
        }
        if (text.equals("-infinity")) {
            return LocalDateTime.MIN;
        }
        boolean bc = text.endsWith(" BC");
        String body = bc ? text.substring(0, text.length() - 3) : text;
        int space = body.indexOf(' ');
        return LocalDateTime.of(parseDate(body.substring(0, space) + (bc ? " BC" : "")),
                parseTime(body.substring(space + 1)));
    }

    /** {@code 2024-05-01 10:00:00[.000001]+02[:30[:15]][ BC]} or {@code ±infinity}. */
    static OffsetDateTime parseTimestamptz(String text) {
        if (text.equals("infinity")) {
            return OffsetDateTime.MAX;
        }
        if (text.equals("-infinity")) {
            return OffsetDateTime.MIN;
        }
        boolean bc = text.endsWith(" BC");
        String body = bc ? text.substring(0, text.length() - 3) : text;
        int space = body.indexOf(' ');
        int sign = Math.max(body.lastIndexOf('+'), body.lastIndexOf('-'));
        if (sign < space) {
            throw new IllegalArgumentException("timestamptz without a UTC offset: " + text);
        }
        String[] parts = body.substring(sign + 1).split(":");
        int factor = body.charAt(sign) == '-' ? -1 : 1;
        ZoneOffset offset = ZoneOffset.ofHoursMinutesSeconds(factor * Integer.parseInt(parts[0]),
                parts.length > 1 ? factor * Integer.parseInt(parts[1]) : 0,
                parts.length > 2 ? factor * Integer.parseInt(parts[2]) : 0);
        LocalDateTime local = parseTimestamp(body.substring(0, sign) + (bc ? " BC" : ""));
        return OffsetDateTime.of(local, offset);
    }
}
