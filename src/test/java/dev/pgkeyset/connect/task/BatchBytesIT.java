package dev.pgkeyset.connect.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TaskHarness;
import dev.pgkeyset.connect.testing.TestDatabase;

/**
 * {@code batch.max.bytes} bounds what a poll hands over as it is serialized, measured here by
 * JsonConverter (schemas off, key and value, plus headers) rather than by the connector's estimate:
 * rows of text in 1-, 2-, 3- and 4-byte characters, bytea and text[].
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchBytesIT {

    private static final long SEED = Long.getLong("batchbytes.seed", System.nanoTime());
    private static final int ROWS = 600;
    private static final int MAX_BYTES = 20_480;
    /** Code points of each UTF-8 width: ASCII, Cyrillic, CJK, emoji. */
    private static final int[][] SCRIPTS = {{'a', 26}, {0x0410, 64}, {0x4E00, 2000}, {0x1F600, 80}};

    private TestDatabase db;

    @BeforeAll
    void setUp() throws Exception {
        System.out.println("BatchBytesIT seed " + SEED + " (replay with -Dbatchbytes.seed=" + SEED + ")");
        Random random = new Random(SEED);
        db = PostgresFixture.createDatabase("batch_bytes");
        db.execute("CREATE TABLE mixed (id bigint PRIMARY KEY, t text, b bytea, a text[])");
        try (Connection c = db.connect();
             PreparedStatement insert = c.prepareStatement("INSERT INTO mixed VALUES (?, ?, ?, ?)")) {
            for (int id = 1; id <= ROWS; id++) {
                insert.setLong(1, id);
                insert.setString(2, text(random, random.nextInt(400)));
                byte[] bytes = new byte[random.nextInt(1000)];
                random.nextBytes(bytes);
                insert.setBytes(3, bytes);
                String[] elements = new String[random.nextInt(6)];
                for (int e = 0; e < elements.length; e++) {
                    elements[e] = text(random, random.nextInt(20));
                }
                insert.setArray(4, c.createArrayOf("text", elements));
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /** Text of one script per row, so some rows are all 3- or 4-byte characters. */
    private static String text(Random random, int length) {
        int[] script = SCRIPTS[random.nextInt(SCRIPTS.length)];
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            s.appendCodePoint(script[0] + random.nextInt(script[1]));
        }
        return s.toString();
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    /** The JsonConverter bytes (schemas off) of each poll's records, key, value and headers. */
    private static long serialized(List<SourceRecord> batch, JsonConverter keys, JsonConverter values) {
        long bytes = 0;
        for (SourceRecord r : batch) {
            bytes += keys.fromConnectData(r.topic(), r.keySchema(), r.key()).length;
            bytes += values.fromConnectData(r.topic(), r.valueSchema(), r.value()).length;
            for (Header h : r.headers()) {
                bytes += h.key().getBytes(StandardCharsets.UTF_8).length
                        + String.valueOf(h.value()).getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return bytes;
    }

    /**
     * Many one-digit Decimals: JsonConverter writes a Decimal as base64 of its unscaled bytes
     * ({@code "BQ=="} for 5, six bytes with the quotes), longer than the digits of its text.
     */
    @Test
    void manySmallDecimalColumnsStayWithinBatchMaxBytes() throws Exception {
        StringBuilder columns = new StringBuilder();
        StringBuilder values = new StringBuilder();
        for (int i = 1; i <= 150; i++) {
            columns.append(", d").append(i).append(" numeric(1,0)");
            values.append(i % 2 == 0 ? ", 5" : ", -5");
        }
        db.execute("CREATE TABLE decimals (id bigint PRIMARY KEY" + columns + ")",
                "INSERT INTO decimals SELECT g" + values + " FROM generate_series(1, 300) g");
        JsonConverter keyConverter = new JsonConverter();
        keyConverter.configure(Map.of("schemas.enable", "false"), true);
        JsonConverter valueConverter = new JsonConverter();
        valueConverter.configure(Map.of("schemas.enable", "false"), false);
        Map<String, String> props = db.connectorConfig("bd", "public\\.decimals");
        props.put("batch.max.bytes", Integer.toString(MAX_BYTES));
        props.put("poll.interval.ms", "10");
        List<Long> batchBytes = new ArrayList<>();
        long rows = 0;
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> batch;
            while ((batch = harness.poll()) != null) {
                batchBytes.add(serialized(batch, keyConverter, valueConverter));
                rows += batch.size();
            }
        }
        assertEquals(db.queryLong("SELECT count(*) FROM decimals"), rows, "every row once");
        System.out.printf("small decimals: serialized bytes per poll %s (bound %d)%n", batchBytes, MAX_BYTES);
        for (int i = 0; i < batchBytes.size(); i++) {
            assertTrue(batchBytes.get(i) <= MAX_BYTES, "poll " + i + " serializes to " + batchBytes.get(i)
                    + " bytes, over batch.max.bytes=" + MAX_BYTES);
        }
    }

    @Test
    void everyPollStaysWithinBatchMaxBytesAsSerialized() throws Exception {
        JsonConverter keys = new JsonConverter();
        keys.configure(Map.of("schemas.enable", "false"), true);
        JsonConverter values = new JsonConverter();
        values.configure(Map.of("schemas.enable", "false"), false);
        Map<String, String> props = db.connectorConfig("bb", "public\\.mixed");
        props.put("batch.max.bytes", Integer.toString(MAX_BYTES));
        props.put("poll.interval.ms", "10");

        List<Long> batchBytes = new ArrayList<>();
        List<Integer> batchSizes = new ArrayList<>();
        long rows = 0;
        try (TaskHarness harness = new TaskHarness(props).start()) {
            List<SourceRecord> batch;
            while ((batch = harness.poll()) != null) {
                long bytes = 0;
                for (SourceRecord r : batch) {
                    bytes += keys.fromConnectData(r.topic(), r.keySchema(), r.key()).length;
                    bytes += values.fromConnectData(r.topic(), r.valueSchema(), r.value()).length;
                    for (Header h : r.headers()) {
                        bytes += h.key().getBytes(StandardCharsets.UTF_8).length
                                + String.valueOf(h.value()).getBytes(StandardCharsets.UTF_8).length;
                    }
                }
                batchBytes.add(bytes);
                batchSizes.add(batch.size());
                rows += batch.size();
            }
        }
        assertEquals(db.queryLong("SELECT count(*) FROM mixed"), rows, "every row once");
        long largest = batchBytes.stream().mapToLong(Long::longValue).max().orElse(0);
        System.out.printf("batch bytes: %d polls of %s rows; serialized bytes per poll %s; largest %d (bound %d)%n",
                batchBytes.size(), batchSizes, batchBytes, largest, MAX_BYTES);
        for (int i = 0; i < batchBytes.size(); i++) {
            if (batchSizes.get(i) > 1) {
                assertTrue(batchBytes.get(i) <= MAX_BYTES, "poll " + i + " of " + batchSizes.get(i) + " records "
                        + "serializes to " + batchBytes.get(i) + " bytes, over batch.max.bytes=" + MAX_BYTES);
            }
            if (i < batchBytes.size() - 1) {
                // Rows are at most ~7.5 kB: a poll that stopped at the bound holds well over a third of it.
                assertTrue(batchBytes.get(i) >= MAX_BYTES / 3, "poll " + i + " holds only " + batchBytes.get(i)
                        + " bytes: the estimate is far too high");
            }
        }
    }
}
