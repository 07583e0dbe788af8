package dev.pgkeyset.connect.testing;

import java.util.List;
import java.util.Locale;

/** Runs code under another default locale (every category), restoring the JVM's afterwards. */
public final class DefaultLocale {

    /**
     * Locales whose numbers are not written in ASCII digits by default (Arabic-Indic, Persian,
     * Thai), and Turkish, whose lower case of {@code I} is a dotless {@code ı}.
     */
    public static final List<Locale> HOSTILE = List.of(Locale.forLanguageTag("ar-SA"), Locale.forLanguageTag("fa-IR"),
            Locale.forLanguageTag("th-TH-u-nu-thai"), Locale.forLanguageTag("th-TH"), Locale.forLanguageTag("tr-TR"));

    private DefaultLocale() {
    }

    public static void under(Locale locale, Runnable body) {
        Locale saved = Locale.getDefault();
        Locale savedFormat = Locale.getDefault(Locale.Category.FORMAT);
        Locale savedDisplay = Locale.getDefault(Locale.Category.DISPLAY);
        try {
            Locale.setDefault(locale);
            body.run();
        } finally {
            Locale.setDefault(saved);
            Locale.setDefault(Locale.Category.FORMAT, savedFormat);
            Locale.setDefault(Locale.Category.DISPLAY, savedDisplay);
        }
    }
}
