package dev.pgkeyset.connect.chaos;

/** The faults the schedule draws from, each with the words the report prints. */
enum FaultKind {
    WORKER_STOPPED("worker stopped, another started"),
    WORKER_KILLED("worker killed (SIGKILL), another started"),
    CONNECTOR_PAUSED("connector paused, resumed"),
    BACKENDS_TERMINATED("connector's backends terminated"),
    POSTGRES_RESTARTED("PostgreSQL restarted"),
    BROKER_RESTARTED("broker restarted");

    private final String words;

    FaultKind(String words) {
        this.words = words;
    }

    String words() {
        return words;
    }
}
