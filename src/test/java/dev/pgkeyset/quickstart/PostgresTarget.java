package dev.pgkeyset.quickstart;

/** Where the quickstart's PostgreSQL listens and whom it logs in as. */
record PostgresTarget(String host, int port, String database, String user, String password) {

    String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    /** The psql command a person can paste while the quickstart runs. */
    String psqlCommand() {
        return "psql -h " + host + " -p " + port + " -U " + user + " " + database;
    }
}
