package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What a newcomer types in psql while the quickstart runs in WAL mode: an insert, an update and a
 * hard DELETE. Afterwards each key's last record in the topic must be the row as PostgreSQL has it
 * (the deleted key's a tombstone with pgkeyset.op=d).
 */
final class LiveChanges {

    static final long INSERTED = 990_001;
    static final long UPDATED = 1;
    static final long DELETED = 2;

    private LiveChanges() {
    }

    static void apply(Connection db) throws Exception {
        try (Statement st = db.createStatement()) {
            st.execute("INSERT INTO public.quickstart_demo (id, customer, amount) VALUES (" + INSERTED
                    + ", 'typed-in', 12.34)");
            st.execute("UPDATE public.quickstart_demo SET customer = 'renamed', updated_at = now() WHERE id = " + UPDATED);
            st.execute("DELETE FROM public.quickstart_demo WHERE id = " + DELETED);
        }
    }

    /** id to customer, as PostgreSQL has it now. */
    static Map<Long, String> table(Connection db) throws Exception {
        Map<Long, String> rows = new TreeMap<>();
        try (Statement st = db.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, customer FROM public.quickstart_demo")) {
            while (rs.next()) {
                rows.put(rs.getLong(1), rs.getString(2));
            }
        }
        return rows;
    }

    /** A record as read back: its customer (null for a tombstone) and its pgkeyset.op header. */
    record Seen(String customer, String op) {
    }

    /** A topic read to its end: each key's last record, and how many records carried each op header. */
    record TopicState(Map<Long, Seen> last, Map<String, Long> ops) {
    }

    static TopicState read(String bootstrap, String topic) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<Long, Seen> last = new HashMap<>();
        Map<String, Long> ops = new TreeMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringDeserializer(), new StringDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (consumer.position(partition) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) {
                    long id = json.readTree(record.key()).get("payload").get("id").asLong();
                    JsonNode value = record.value() == null ? null : json.readTree(record.value()).get("payload");
                    Header op = record.headers().lastHeader("pgkeyset.op");
                    String opText = op == null ? "(none)" : new String(op.value(), StandardCharsets.UTF_8);
                    last.put(id, new Seen(value == null ? null : value.get("customer").asText(), opText));
                    ops.merge(opText, 1L, Long::sum);
                }
            }
            assertEquals(end, consumer.position(partition), "read the whole topic");
        }
        return new TopicState(last, ops);
    }

    /** The topic's last record per key against the table: live rows equal, the deleted key a tombstone. */
    static void assertTopicFollowsTable(Map<Long, String> table, Map<Long, Seen> topic) {
        assertTrue(table.containsKey(INSERTED) && table.containsKey(UPDATED) && !table.containsKey(DELETED),
                "the SQL changed the table: " + table.keySet().stream().limit(5).toList());
        Map<Long, String> live = new TreeMap<>();
        topic.forEach((id, seen) -> {
            if (seen.customer() != null) {
                live.put(id, seen.customer());
            }
        });
        assertEquals(table, live, "each key's last record holds the row as PostgreSQL has it");
        assertEquals("c", topic.get(INSERTED).op(), "the insert, from the WAL");
        assertEquals(new Seen("renamed", "u"), topic.get(UPDATED), "the update, from the WAL");
        assertNull(topic.get(DELETED).customer(), "the hard DELETE is a tombstone");
        assertEquals("d", topic.get(DELETED).op(), "the tombstone's op header");
    }
}
