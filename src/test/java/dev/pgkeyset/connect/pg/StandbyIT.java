package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.PgKeysetSourceConnector;
import dev.pgkeyset.connect.testing.PostgresFixture;
import dev.pgkeyset.connect.testing.TestDatabase;

/** Against the test server, a primary: the standby check passes and validation says nothing of it. */
class StandbyIT {

    @Test
    void thePrimaryPasses() throws Exception {
        try (TestDatabase db = PostgresFixture.createDatabase("standby")) {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())");
            try (Connection c = db.connect()) {
                assertFalse(Standby.inRecovery(c));
            }
            Map<String, String> props = db.connectorConfig("s", "public\\.t");
            props.put("snapshot.mode", "initial");
            props.put("incremental.column", "updated_at");
            List<String> errors = new PgKeysetSourceConnector().validate(props).configValues().stream()
                    .flatMap(v -> v.errorMessages().stream()).toList();
            assertEquals(List.of(), errors);
        }
    }
}
