package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RefusalTest {

    @Test
    void theWorkersRefusalIsShownAsItsErrorLines() {
        String body = "{\"error_code\":400,\"message\":\"Connector configuration is invalid and contains the following "
                + "1 error(s):\\nRun 'GRANT pg_read_all_stats TO qsdemo'.\\nYou can also find the above list of errors "
                + "at the endpoint `/connector-plugins/{connectorType}/config/validate`\"}";
        String nl = System.lineSeparator();
        assertEquals(nl + "  Connector configuration is invalid and contains the following 1 error(s):" + nl
                + "  Run 'GRANT pg_read_all_stats TO qsdemo'.", Quickstart.refusal(body));
    }

    @Test
    void aBodyThatIsNotTheWorkersJsonIsShownAsItIs() {
        assertEquals("Bad Gateway", Quickstart.refusal("Bad Gateway"));
    }
}
