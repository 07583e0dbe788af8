package dev.pgkeyset.quickstart;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One record as the first screen shows it: key, value and headers. The worker's JsonConverter
 * writes each key and value as {@code {"schema": ..., "payload": ...}}; the sample shows the
 * payload (the schema is long, and ReadTopic prints it whole).
 */
final class SampleRecord {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SampleRecord() {
    }

    static String describe(ConsumerRecord<byte[], byte[]> record) {
        return "first record, in " + record.topic() + " at offset " + record.offset()
                + " (JSON payloads; each also carries its schema):"
                + "\n  key:     " + payload(record.key())
                + "\n  value:   " + payload(record.value())
                + "\n  headers: " + headers(record.headers());
    }

    static String payload(byte[] json) {
        if (json == null) {
            return "null (a tombstone: the row was deleted)";
        }
        String text = new String(json, StandardCharsets.UTF_8);
        try {
            JsonNode node = JSON.readTree(text);
            return node != null && node.has("payload") ? JSON.writeValueAsString(node.get("payload")) : text;
        } catch (java.io.IOException notJson) {
            return text;
        }
    }

    static String headers(Iterable<Header> headers) {
        StringBuilder text = new StringBuilder();
        for (Header header : headers) {
            text.append(text.isEmpty() ? "" : ", ").append(header.key()).append('=')
                    .append(header.value() == null ? "null" : new String(header.value(), StandardCharsets.UTF_8));
        }
        return text.isEmpty() ? "(none)" : text.toString();
    }
}
