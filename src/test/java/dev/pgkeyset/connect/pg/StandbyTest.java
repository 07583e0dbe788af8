package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import dev.pgkeyset.connect.config.SnapshotMode;

/** The decision on a hot standby: the snapshot alone may run there, following changes may not. */
class StandbyTest {

    @Test
    void onAStandbyOnlySnapshotOnlyIsAllowed() {
        assertNull(Standby.problem(true, SnapshotMode.INITIAL_ONLY));
        for (SnapshotMode mode : new SnapshotMode[] {SnapshotMode.INITIAL, SnapshotMode.NEVER}) {
            String problem = Standby.problem(true, mode);
            assertTrue(problem != null && problem.contains("standby") && problem.contains("initial_only")
                    && problem.contains("primary"), mode + ": " + problem);
        }
    }

    @Test
    void onAPrimaryEveryModeIsAllowed() {
        for (SnapshotMode mode : SnapshotMode.values()) {
            assertNull(Standby.problem(false, mode), mode.configName());
        }
    }
}
