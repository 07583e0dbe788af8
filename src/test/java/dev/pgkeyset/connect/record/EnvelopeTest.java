package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.offset.Phase;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;
import dev.pgkeyset.connect.tables.CapturedTable;

/**
 * record.format=envelope: the envelope's and source block's schema names, fields and types (as a
 * Debezium PostgreSQL event has them), and the query-mode records built from one row, against
 * the same row's record.format=row record.
 */
class EnvelopeTest {

    private static final ColumnInfo ID = new ColumnInfo("id", 20, "bigint", -1, true);
    private static final ColumnInfo NOTE = new ColumnInfo("note", 25, "text", -1, false);
    private static final ColumnInfo GONE = new ColumnInfo("gone", 16, "boolean", -1, false);

    private static TablePlan plan(String format, String... extra) {
        TableInfo info = new TableInfo(new TableId("inv", "items"), TableKind.TABLE, List.of(ID, NOTE, GONE),
                List.of("id"), java.util.Set.of(), 0);
        Map<String, String> props = new HashMap<>(Map.of("connection.url",
                "jdbc:postgresql://localhost:5432/shop?ApplicationName=x", "topic.prefix", "pfx",
                "table.include.list", "inv\\.items", "record.format", format, "soft.delete.column", "gone"));
        for (int i = 0; i < extra.length; i += 2) {
            props.put(extra[i], extra[i + 1]);
        }
        PgKeysetConfig config = new PgKeysetConfig(props);
        return new TablePlan(new CapturedTable(info, List.of(ID), Optional.empty(), Optional.of(GONE)), config);
    }

    private static SourceRecord record(TablePlan plan, Object[] raw, Phase phase) {
        return plan.toRecord(raw, plan.position(raw, false), phase, null);
    }

    private static void assertField(Schema struct, String name, Schema.Type type, boolean optional) {
        Field field = struct.field(name);
        assertNotNull(field, name);
        assertEquals(type, field.schema().type(), name);
        assertEquals(optional, field.schema().isOptional(), name + " optional");
    }

    @Test
    void theEnvelopeHasDebeziumsNamesAndTypes() {
        TablePlan rowPlan = plan("row");
        Schema rowValue = record(rowPlan, new Object[] {1L, "a", false}, Phase.SNAPSHOT).valueSchema();
        Schema envelope = plan("envelope").envelopeSchema();

        assertEquals("pfx.inv.items.Envelope", envelope.name());
        // Debezium 3.7's fields and order, as its connector sends them (DebeziumTransactionMetadataIT compares).
        assertEquals(List.of("before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"),
                envelope.fields().stream().map(Field::name).toList());
        // before and after are the row format's own value schema, optional.
        assertEquals(rowValue, envelope.field("before").schema());
        assertEquals(rowValue, envelope.field("after").schema());
        assertEquals("pfx.inv.items.Value", envelope.field("after").schema().name());
        assertTrue(envelope.field("after").schema().isOptional());
        assertField(envelope, "op", Schema.Type.STRING, false);
        assertField(envelope, "ts_ms", Schema.Type.INT64, true);
        assertEquals(2, envelope.version());
        assertEquals("event.block", envelope.field("transaction").schema().name());
        assertTrue(envelope.field("transaction").schema().isOptional());

        Schema source = envelope.field("source").schema();
        assertEquals("io.debezium.connector.postgresql.Source", source.name());
        assertEquals(List.of("version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns",
                "schema", "table", "txId", "lsn", "xmin", "origin", "origin_lsn"), source.fields().stream().map(Field::name).toList());
        for (String required : List.of("version", "connector", "name", "db", "schema", "table")) {
            assertField(source, required, Schema.Type.STRING, false);
        }
        assertField(source, "ts_ms", Schema.Type.INT64, false);
        assertField(source, "snapshot", Schema.Type.STRING, true);
        assertEquals("io.debezium.data.Enum", source.field("snapshot").schema().name());
        assertEquals("false", source.field("snapshot").schema().defaultValue());
        for (String optional : List.of("txId", "lsn", "xmin", "ts_us", "ts_ns")) {
            assertField(source, optional, Schema.Type.INT64, true);
        }
    }

    @Test
    void aSnapshotRowIsAReadWithTheRowFormatsRowAsAfter() {
        Object[] raw = {7L, "hello", false};
        SourceRecord row = record(plan("row"), raw, Phase.SNAPSHOT);
        TablePlan plan = plan("envelope");
        SourceRecord first = record(plan, raw, Phase.SNAPSHOT);
        SourceRecord last = record(plan, raw, Phase.SNAPSHOT_COMPLETE);

        assertEquals(row.key(), first.key());
        assertEquals(row.keySchema(), first.keySchema());
        assertEquals(row.sourceOffset(), first.sourceOffset());
        assertEquals("r", first.headers().lastWithName(TablePlan.OP_HEADER).value());
        Struct event = (Struct) first.value();
        event.validate();
        assertEquals("r", event.get("op"));
        assertNull(event.get("before"));
        assertEquals(row.value(), event.get("after"));
        Struct source = event.getStruct("source");
        assertEquals("postgresql", source.get("connector"));
        assertEquals("pfx", source.get("name"));
        assertEquals("shop", source.get("db"));
        assertEquals("inv", source.get("schema"));
        assertEquals("items", source.get("table"));
        assertEquals("true", source.get("snapshot"));
        assertNull(source.get("txId"));
        assertNull(source.get("lsn"));
        assertEquals("last_in_data_collection", ((Struct) last.value()).getStruct("source").get("snapshot"));
        // Built once per plan: every record shares the schema.
        assertSame(first.valueSchema(), last.valueSchema());
        assertSame(plan.envelopeSchema(), first.valueSchema());
        assertNull(plan.tombstoneFollowing(first), "no tombstone after a read");
    }

    @Test
    void aQueryChangeIsAnUpdateWithoutBefore() {
        SourceRecord change = record(plan("envelope"), new Object[] {7L, null, false}, Phase.INCREMENTAL);
        Struct event = (Struct) change.value();
        event.validate();
        assertEquals("u", event.get("op"));
        assertNull(event.get("before"));
        assertEquals(7L, event.getStruct("after").get("id"));
        assertNull(event.getStruct("after").get("note"));
        assertEquals("false", event.getStruct("source").get("snapshot"));
    }

    @Test
    void aSoftDeleteIsADeleteEventThenATombstone() {
        Object[] raw = {9L, "bye", true};
        TablePlan plan = plan("envelope");
        SourceRecord delete = record(plan, raw, Phase.INCREMENTAL);
        Struct event = (Struct) delete.value();
        event.validate();
        assertEquals("d", event.get("op"));
        assertEquals("bye", event.getStruct("before").get("note"));
        assertNull(event.get("after"));
        SourceRecord tombstone = plan.tombstoneFollowing(delete);
        assertNotNull(tombstone);
        assertNull(tombstone.value());
        assertEquals(delete.key(), tombstone.key());
        assertEquals(delete.sourceOffset(), tombstone.sourceOffset());
        assertEquals("d", tombstone.headers().lastWithName(TablePlan.OP_HEADER).value());

        TablePlan without = plan("envelope", "tombstones.on.delete", "false");
        assertNull(without.tombstoneFollowing(record(without, raw, Phase.INCREMENTAL)));
        TablePlan rows = plan("row");
        SourceRecord rowDelete = record(rows, raw, Phase.INCREMENTAL);
        assertNull(rowDelete.value(), "in record.format=row the delete is the tombstone");
        assertNull(rows.tombstoneFollowing(rowDelete));
    }
}
