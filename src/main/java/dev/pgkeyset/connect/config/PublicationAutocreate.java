package dev.pgkeyset.connect.config;

/** Whether the connector manages the publication its slot streams. */
public enum PublicationAutocreate {
    /** Created by the connector and kept equal to the captured tables. */
    FILTERED,
    /** Must exist; used as it is. */
    DISABLED;

    /** The name a user types in the config. */
    public String configName() {
        return ConfigEnums.configName(this);
    }

    public static PublicationAutocreate parse(String value) {
        return ConfigEnums.parse(PublicationAutocreate.class, "publication autocreate", value);
    }

    public static String[] names() {
        return ConfigEnums.names(PublicationAutocreate.class);
    }
}
