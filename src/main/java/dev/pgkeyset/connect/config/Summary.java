package dev.pgkeyset.connect.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Lists in messages stay short: a database with thousands of tables without a primary key once
 * gave a validation error of 465,786 characters. The first few items are named, then a count.
 */
public final class Summary {

    /** How many problems a message names before it counts the rest. */
    public static final int PROBLEMS_SHOWN = 5;
    /** How many names (tables) a log line names before it counts the rest. */
    public static final int NAMES_SHOWN = 20;

    private Summary() {
    }

    /** {@code a; b; c; and 2,997 more (3,000 in all)} for {@code shown} = 3. */
    public static String join(List<String> items, String separator, int shown) {
        return String.join(separator, firstFew(items, shown));
    }

    /** The first {@code shown} items, then one item "and N more (M in all)" when there are more. */
    public static List<String> firstFew(List<String> items, int shown) {
        if (items.size() <= shown) {
            return items;
        }
        List<String> few = new ArrayList<>(items.subList(0, shown));
        few.add(String.format(java.util.Locale.ROOT, "and %,d more (%,d in all)", items.size() - shown, items.size()));
        return few;
    }
}
