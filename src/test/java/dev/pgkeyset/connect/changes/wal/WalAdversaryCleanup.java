package dev.pgkeyset.connect.changes.wal;

import dev.pgkeyset.connect.testing.TestDatabase;
import dev.pgkeyset.connect.testing.WalFixture;

/** Drops an adversarial test's slot and publication, then its database, even after a failure. */
final class WalAdversaryCleanup {

    private WalAdversaryCleanup() {
    }

    static void dropSlotPublicationAndDatabase(TestDatabase db, String name) {
        try {
            WalFixture.dropSlotAndPublication(db, name);
        } finally {
            db.close();
        }
    }
}
