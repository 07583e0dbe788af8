package dev.pgkeyset.connect.record;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.PgKeysetConfig;
import dev.pgkeyset.connect.pg.ColumnInfo;
import dev.pgkeyset.connect.pg.TableId;
import dev.pgkeyset.connect.pg.TableInfo;
import dev.pgkeyset.connect.pg.TableKind;
import dev.pgkeyset.connect.tables.CapturedTable;

/** The change-lag metric reads wall-clock tracking values in the writers' zone, not as UTC. */
class TrackingLagTest {

    private static TablePlan plan(ColumnInfo tracking) {
        ColumnInfo id = new ColumnInfo("id", 20, "bigint", -1, true);
        TableInfo info = new TableInfo(new TableId("public", "t"), TableKind.TABLE, List.of(id, tracking),
                List.of("id"), java.util.Set.of(), 0);
        PgKeysetConfig config = new PgKeysetConfig(Map.of("connection.url", "jdbc:postgresql://localhost/x",
                "topic.prefix", "p", "table.include.list", "public\\.t", "snapshot.mode", "never",
                "incremental.column", tracking.name()));
        return new TablePlan(new CapturedTable(info, List.of(id), Optional.of(tracking), Optional.empty()), config);
    }

    @Test
    void aTimestampIsReadInTheGivenZone() {
        TablePlan plan = plan(new ColumnInfo("updated_at", 1114, "timestamp without time zone", -1, true));
        Object[] row = {1L, LocalDateTime.parse("2025-06-01T12:00:00")};
        // 12:00 in New York in June (EDT, UTC-4) is 16:00 UTC; an independent statement of the instant.
        assertEquals(Instant.parse("2025-06-01T16:00:00Z").toEpochMilli(),
                plan.trackingEpochMillis(row, ZoneId.of("America/New_York")).orElseThrow());
    }

    @Test
    void aDateStartsAtMidnightOfTheGivenZone() {
        TablePlan plan = plan(new ColumnInfo("day", 1082, "date", -1, true));
        Object[] row = {1L, LocalDate.parse("2025-01-15")};
        assertEquals(Instant.parse("2025-01-14T15:00:00Z").toEpochMilli(),
                plan.trackingEpochMillis(row, ZoneId.of("Asia/Tokyo")).orElseThrow());
    }
}
