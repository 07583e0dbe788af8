package dev.pgkeyset.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.pg.TableId;

class PgKeysetConfigTest {

    private static Map<String, String> minimal() {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", "jdbc:postgresql://localhost:5432/shop");
        props.put("table.include.list", "public\\..*");
        props.put("topic.prefix", "shop");
        return props;
    }

    @Test
    void defaultsFollowTheSpec() {
        PgKeysetConfig config = new PgKeysetConfig(minimal());
        assertEquals(SnapshotMode.INITIAL, config.snapshotMode());
        assertEquals(NumericMapping.PRECISE, config.numericMapping());
        assertEquals(5000, config.fetchSize());
        assertEquals(5000, config.batchMaxRows());
        assertEquals(8L * 1024 * 1024, config.batchMaxBytes());
        assertEquals(Duration.ofSeconds(1), config.pollInterval());
        assertEquals(Duration.ofMinutes(5), config.cursorMaxAge());
        assertEquals("shop.public.orders", config.topicFor(new TableId("public", "orders")));
    }

    @Test
    void includeAndExcludeMatchWholeNames() {
        Map<String, String> props = minimal();
        props.put("table.include.list", "public\\..*,sales\\.orders");
        props.put("table.exclude.list", "public\\.tmp_.*");
        TableFilter filter = new PgKeysetConfig(props).tableFilter();
        assertTrue(filter.captures(new TableId("public", "orders")));
        assertTrue(filter.captures(new TableId("sales", "orders")));
        assertFalse(filter.captures(new TableId("sales", "orders_old")), "whole-string match");
        assertFalse(filter.captures(new TableId("public", "tmp_1")));
        assertFalse(filter.captures(new TableId("other", "orders")));
    }

    @Test
    void enumsAreCaseInsensitive() {
        Map<String, String> props = minimal();
        props.put("snapshot.mode", "INITIAL_ONLY");
        props.put("numeric.mapping", "String");
        PgKeysetConfig config = new PgKeysetConfig(props);
        assertEquals(SnapshotMode.INITIAL_ONLY, config.snapshotMode());
        assertEquals(NumericMapping.STRING, config.numericMapping());
    }

    @Test
    void badValuesNameTheirKey() {
        assertRefused("connection.url", "mysql://localhost/db", "jdbc:postgresql");
        assertRefused("snapshot.mode", "sometimes", "initial, initial_only, never");
        assertRefused("numeric.mapping", "float", "precise, double, string");
        assertRefused("fetch.size", "0", "fetch.size");
        assertRefused("batch.max.rows", "-1", "batch.max.rows");
        assertRefused("batch.max.bytes", "10", "batch.max.bytes");
        assertRefused("table.include.list", "public.(", "regular expression");
        assertRefused("key.columns", "orders", "key.columns");
        assertRefused("topic.prefix", "", "topic.prefix");
    }

    @Test
    void requiredKeysAreRequired() {
        for (String key : new String[] {"connection.url", "table.include.list", "topic.prefix"}) {
            Map<String, String> props = minimal();
            props.remove(key);
            ConfigException e = assertThrows(ConfigException.class, () -> new PgKeysetConfig(props));
            assertTrue(e.getMessage().contains(key), e.getMessage());
        }
    }

    @Test
    void thePasswordIsNeverPrinted() {
        Map<String, String> props = minimal();
        props.put("connection.password", "s3cr3t-value");
        PgKeysetConfig config = new PgKeysetConfig(props);
        assertEquals("s3cr3t-value", config.password().value());
        assertFalse(config.toString().contains("s3cr3t-value"));
        assertFalse(config.password().toString().contains("s3cr3t-value"));
    }

    @Test
    void taskConfigCarriesItsTablesWhateverTheirNames() {
        Map<String, String> props = minimal();
        TableId odd = new TableId("we,ird", "na.me\"x");
        props.put(TaskConfig.TASK_TABLES, TaskConfig.encodeSlices(java.util.List.of(
                TableSlice.whole(odd), TableSlice.whole(new TableId("public", "t")))));
        assertEquals(java.util.List.of(odd, new TableId("public", "t")), new TaskConfig(props).tables());
    }

    @Test
    void transactionMetadataOnlyInWalMode() {
        assertRefused("provide.transaction.metadata", "true", "capture.mode=wal");
        Map<String, String> props = minimal();
        props.put("provide.transaction.metadata", "true");
        props.put("capture.mode", "wal");
        props.put("topic.transaction", "tx events");
        PgKeysetConfig config = new PgKeysetConfig(props);
        assertTrue(config.provideTransactionMetadata());
        assertEquals("shop.tx_events", config.transactionTopic());
        assertEquals("shop.transaction", new PgKeysetConfig(minimal()).transactionTopic());
    }

    private static void assertRefused(String key, String value, String fragment) {
        Map<String, String> props = minimal();
        props.put(key, value);
        ConfigException e = assertThrows(ConfigException.class, () -> new PgKeysetConfig(props));
        assertTrue(e.getMessage().contains(key) || e.getMessage().contains(fragment), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), key + ": " + e.getMessage());
    }
}
