package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.RestartingReader;
import dev.pgkeyset.connect.testing.TestDatabase;

/** What the catalog says about keys, against a real PostgreSQL. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CatalogIT {

    private TestDatabase db;

    @BeforeAll
    void setUp() {
        db = PostgresFixture.createDatabase("catalog");
        // INCLUDE columns are stored in the key's index but are no part of the key: nullable,
        // mutable, of types without a btree order (json).
        db.execute("CREATE TABLE covered (id int, region text, note text, doc json,"
                        + " PRIMARY KEY (region, id) INCLUDE (note, doc))",
                "INSERT INTO covered VALUES (1, 'eu', NULL, '{\"a\": 1}'), (2, 'eu', 'x', NULL),"
                        + " (1, 'us', NULL, NULL), (3, 'ap', 'y', '[1, 2]')");
    }

    @AfterAll
    void tearDown() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void includedColumnsAreNoPartOfThePrimaryKey() throws Exception {
        try (Connection c = db.connect()) {
            TableInfo info = Catalog.tables(c, id -> id.table().equals("covered")).get(0);
            assertEquals(List.of("region", "id"), info.primaryKey());
        }
    }

    @Test
    void aTableWithIncludedNullAndJsonColumnsIsReadWholeByItsKey() throws Exception {
        Map<String, String> props = db.connectorConfig("c", "public\\.covered");
        props.put("batch.max.rows", "1");
        List<SourceRecord> records = RestartingReader.readAll(props, poll -> true, 0);
        assertEquals(List.of("ap|3", "eu|1", "eu|2", "us|1"), records.stream().map(r -> {
            Struct key = (Struct) r.key();
            assertEquals(2, key.schema().fields().size(), "the record key is the key: " + key);
            return key.getString("region") + "|" + key.getInt32("id");
        }).toList(), "every row once, resumed after each, in (region, id) order");
        assertEquals(db.queryLong("SELECT count(*) FROM covered"), records.size());
    }
}
