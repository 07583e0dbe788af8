package dev.pgkeyset.quickstart;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** {@code public.quickstart_demo}: orders-like rows with a tracking column, made or refilled in SQL. */
final class DemoTable {

    private DemoTable() {
    }

    static void refill(Connection db, long rows) throws SQLException {
        try (Statement st = db.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS public.quickstart_demo (id bigint PRIMARY KEY,"
                    + " customer text NOT NULL, amount numeric(12,2) NOT NULL,"
                    + " updated_at timestamptz NOT NULL DEFAULT now())");
            st.execute("CREATE INDEX IF NOT EXISTS quickstart_demo_updated_at ON public.quickstart_demo (updated_at, id)");
            st.execute("TRUNCATE public.quickstart_demo");
            st.execute("INSERT INTO public.quickstart_demo (id, customer, amount, updated_at)"
                    + " SELECT g, 'customer-' || (g % 1000), (g % 10000) / 100.0, now() - interval '1 day'"
                    + " FROM generate_series(1, " + rows + ") g");
            st.execute("ANALYZE public.quickstart_demo");
        }
    }
}
