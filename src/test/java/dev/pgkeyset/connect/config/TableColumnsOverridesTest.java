package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.TableId;

class TableColumnsOverridesTest {

    @Test
    void parsesTablesAndColumns() {
        TableColumnsOverrides overrides = TableColumnsOverrides.parse("key.columns",
                List.of("public.events:tenant|id", " sales.v.x : code "), false);
        assertEquals(Optional.of(List.of("tenant", "id")), overrides.columnsFor(new TableId("public", "events")));
        assertEquals(Optional.of(List.of("code")), overrides.columnsFor(new TableId("sales", "v.x")));
        assertEquals(Optional.empty(), overrides.columnsFor(new TableId("public", "other")));
    }

    @Test
    void malformedEntriesNameTheKeyAndTheEntry() {
        assertRefused(List.of("public.events"), false, "schema.table:column1|column2");
        assertRefused(List.of("events:id"), false, "schema-qualified");
        assertRefused(List.of("public.events:id|"), false, "empty");
        assertRefused(List.of("public.events:id|id"), false, "twice");
        assertRefused(List.of("public.e:id", "public.e:x"), false, "listed twice");
        assertRefused(List.of("public.e:a|b"), true, "exactly one column");
    }

    private static void assertRefused(List<String> entries, boolean single, String fragment) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TableColumnsOverrides.parse("key.columns", entries, single));
        assertTrue(e.getMessage().contains("key.columns") && e.getMessage().contains(fragment), e.getMessage());
    }
}
