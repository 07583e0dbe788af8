package dev.pgkeyset.connect.chaos;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;

import dev.pgkeyset.connect.testing.OffsetsTopic;

/**
 * The history of the offsets Kafka Connect committed for a query-mode connector's tables, read
 * from the workers' offsets topic: per source partition (a table, or one key range of a split
 * table), when it was committed in which phase at which position. A task reads a table in (tracking column, key) order and resumes
 * after the committed position, so a record produced at time t lies after what was committed
 * before t: its snapshot read never comes once the partition's change phase was committed (the
 * snapshot never starts over), a snapshot read has a key above the committed snapshot key, and a
 * change's tracking value is not below the committed one. A key's range is found from the split
 * bounds the ranges' offsets carry (integer keys, as the chaos tables have).
 */
final class CommittedQueryPositions {

    /** One committed offset of a table's whole-table partition. */
    record Commit(String phase, long key, long trackingMicros) {
    }

    /** Per partition ({@code schema.table}, or {@code schema.table#range}): offset-record time → the offset then committed. */
    private final Map<String, TreeMap<Long, Commit>> byPartition = new HashMap<>();
    /** Per split table: the lower bounds of its ranges 1..n (range 0 starts at the lowest key). */
    private final Map<String, long[]> splits = new HashMap<>();

    void add(String partition, long at, Commit commit) {
        byPartition.computeIfAbsent(partition, t -> new TreeMap<>()).put(at, commit);
    }

    void split(String table, long[] bounds) {
        splits.put(table, bounds);
    }

    /** The partition a key of {@code table} belongs to. */
    private String partitionOf(String table, long id) {
        long[] bounds = splits.get(table);
        if (bounds == null) {
            return table;
        }
        int range = 0;
        while (range < bounds.length && id >= bounds[range]) {
            range++;
        }
        return table + "#" + range;
    }

    /** Every committed offset of the table partitions in {@code offsets} (the connector's). */
    static CommittedQueryPositions of(List<OffsetsTopic.Committed> offsets) {
        CommittedQueryPositions positions = new CommittedQueryPositions();
        offsets.forEach(c -> positions.add(c.partition(), c.offset(), c.timestamp()));
        return positions;
    }

    /** Adds one committed offset when it is of a table partition. */
    void add(JsonNode partition, JsonNode value, long at) {
        if (value == null || !partition.has("table")) {
            return;
        }
        String table = partition.get("table").asText();
        String name = table;
        if (partition.has("range")) {
            name = table + "#" + partition.get("range").asText();
            JsonNode bounds = parse(value.path("split").asText("[]"));
            long[] lower = new long[bounds.size()];
            for (int i = 0; i < lower.length; i++) {
                lower[i] = bounds.get(i).get(0).asLong();
            }
            split(table, lower);
        }
        String phase = value.path("phase").asText();
        JsonNode position = parse(value.path("key").asText("[]"));
        long keyValue = Long.MIN_VALUE, tracking = Long.MIN_VALUE;
        if (phase.equals("incremental") && position.size() == 2) {
            Instant instant = instant(position.get(0).asText());
            tracking = instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1000;
            keyValue = position.get(1).asLong();
        } else if (position.size() == 1) {
            keyValue = position.get(0).asLong();
        }
        add(name, at, new Commit(phase, keyValue, tracking));
    }

    /**
     * A timestamptz as the offset holds it: PostgreSQL's text form ({@code 2026-12-02
     * 18:07:35.789589+00}, the offset in hours where it is whole) or ISO 8601.
     */
    static Instant instant(String text) {
        String iso = text.replace(' ', 'T');
        if (iso.matches(".*[+-]\\d\\d$")) {
            iso += ":00";
        }
        return java.time.OffsetDateTime.parse(iso).toInstant();
    }

    private static JsonNode parse(String json) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What was committed for {@code partition} at or before {@code millis}; null when nothing was. */
    private Commit committedAt(String partition, long millis) {
        TreeMap<Long, Commit> history = byPartition.get(partition);
        Map.Entry<Long, Commit> entry = history == null ? null : history.floorEntry(millis);
        return entry == null ? null : entry.getValue();
    }

    /** Whether the partition's change phase was committed at or before {@code millis}. */
    private boolean changePhaseAt(String partition, long millis) {
        TreeMap<Long, Commit> history = byPartition.get(partition);
        return history != null && history.headMap(millis, true).values().stream()
                .anyMatch(c -> c.phase().equals("incremental"));
    }

    /**
     * Why a record produced at {@code producedAt} lies before what was committed {@code margin}
     * ms earlier; null when it does not.
     */
    String beforeCommitted(String table, long id, String op, long updatedAtMillis, long producedAt, long margin) {
        long at = producedAt - margin;
        String partition = partitionOf(table, id);
        if (op.equals("r")) {
            if (changePhaseAt(partition, at)) {
                return "a snapshot read in " + partition + " after its change phase was committed: the snapshot "
                        + "started over";
            }
            Commit committed = committedAt(partition, at);
            if (committed != null && committed.phase().equals("snapshot") && id <= committed.key()) {
                return "a snapshot read of key " + id + " after key " + committed.key() + " was committed";
            }
            return null;
        }
        Commit committed = committedAt(partition, at);
        // Milliseconds in the record (time.precision.mode=connect), microseconds in the offset:
        // only a whole millisecond below is certainly before.
        if (committed != null && committed.phase().equals("incremental")
                && updatedAtMillis < Math.floorDiv(committed.trackingMicros(), 1000L)) {
            return "a change at " + Instant.ofEpochMilli(updatedAtMillis) + " after "
                    + Instant.ofEpochSecond(0, committed.trackingMicros() * 1000L) + " was committed";
        }
        return null;
    }

    int commits() {
        return byPartition.values().stream().mapToInt(Map::size).sum();
    }

    List<String> partitions() {
        return new ArrayList<>(byPartition.keySet());
    }
}
