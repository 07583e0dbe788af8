package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.TableId;

class TopicNamesTest {

    @Test
    void legalNamesPassUnchanged() {
        assertEquals("db1.public.orders_2024-v2", TopicNames.forTable("db1", new TableId("public", "orders_2024-v2")));
    }

    @Test
    void everyIllegalCharacterBecomesOneUnderscore() {
        assertEquals("app.My_Schema.t_ble__x_", TopicNames.forTable("app", new TableId("My Schema", "tÄble\"$x;")));
        assertEquals("p.s.__", TopicNames.forTable("p", new TableId("s", "\uD83D\uDE00/")), "a surrogate pair is one _");
    }

    @Test
    void longNamesAreCutWithAHashSoTheyStayDistinct() {
        String longName = "t".repeat(300);
        String a = TopicNames.forTable("p", new TableId("s", longName + "a"));
        String b = TopicNames.forTable("p", new TableId("s", longName + "b"));
        assertEquals(TopicNames.MAX_LENGTH, a.length());
        org.junit.jupiter.api.Assertions.assertNotEquals(a, b);
        org.junit.jupiter.api.Assertions.assertTrue(a.startsWith("p.s.ttt"));
    }

    @Test
    void theHashOfALongNameIgnoresTheDefaultLocale() {
        TableId table = new TableId("s", "t".repeat(300));
        String expected = TopicNames.forTable("p", table);
        assertEquals(TopicNames.sanitize(expected), expected);
        for (java.util.Locale locale : dev.pgkeyset.connect.testing.DefaultLocale.HOSTILE) {
            dev.pgkeyset.connect.testing.DefaultLocale.under(locale,
                    () -> assertEquals(expected, TopicNames.forTable("p", table), locale.toLanguageTag()));
        }
    }
}
