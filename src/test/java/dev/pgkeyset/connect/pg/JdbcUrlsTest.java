package dev.pgkeyset.connect.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class JdbcUrlsTest {

    @Test
    void masksPasswordsInTheQueryAndBeforeTheHost() {
        assertEquals("jdbc:postgresql://h:5432/db?user=u&password=***&sslpassword=***&sslmode=require",
                JdbcUrls.redact("jdbc:postgresql://h:5432/db?user=u&password=UrlPw-SECRET&sslpassword=Ssl-SECRET"
                        + "&sslmode=require"));
        assertEquals("jdbc:postgresql://u:***@h:5432/db", JdbcUrls.redact("jdbc:postgresql://u:Pw-SECRET@h:5432/db"));
        assertEquals("postgresql://u:***@h/db?PASSWORD=***",
                JdbcUrls.redact("postgresql://u:p@ss@h/db?PASSWORD=x"));
        assertEquals("jdbc:postgresql://h/db?ApplicationName=a&user=me@corp",
                JdbcUrls.redact("jdbc:postgresql://h/db?ApplicationName=a&user=me@corp"));
        assertEquals("null", JdbcUrls.redact(null));
        assertEquals("not a url", JdbcUrls.redact("not a url"));
    }

    @Test
    void aPasswordBeforeTheHostMayHoldAQuestionMarkOrASlash() {
        // The '?' does not start the query here: "Pa?ss" is the password, "h" the host.
        assertEquals("jdbc:postgresql://u:***@h:5432/db", JdbcUrls.redact("jdbc:postgresql://u:Pa?ss-SECRET@h:5432/db"));
        assertEquals("jdbc:postgresql://u:***@h/db?sslmode=require&password=***",
                JdbcUrls.redact("jdbc:postgresql://u:Pa?ss-SECRET@h/db?sslmode=require&password=x"));
        assertEquals("jdbc:postgresql://u:***@h/db", JdbcUrls.redact("jdbc:postgresql://u:Pa/ss-SECRET@h/db"));
        assertTrue(JdbcUrls.hasUserInfo("jdbc:postgresql://u:Pa?ss@h:5432/db"), "refused by the validator");
        assertTrue(JdbcUrls.hasUserInfo("jdbc:postgresql://u:Pa/ss@h:5432/db"));
        assertFalse(JdbcUrls.hasUserInfo("jdbc:postgresql://h/db?user=me@corp&x=a/b"));
    }

    @Test
    void optionsSettingASecretLookingSettingAreMasked() {
        assertEquals("jdbc:postgresql://h/db?options=***&sslmode=require", JdbcUrls.redact(
                "jdbc:postgresql://h/db?options=-c%20app.api_token%3DTok-SECRET&sslmode=require"));
        assertEquals("jdbc:postgresql://h/db?options=***", JdbcUrls.redact(
                "jdbc:postgresql://h/db?options=--myext.password=Pw-SECRET"));
        assertEquals("jdbc:postgresql://h/db?options=-c%20search_path%3Dapp",
                JdbcUrls.redact("jdbc:postgresql://h/db?options=-c%20search_path%3Dapp"), "other options are shown");
    }

    @Test
    void userInfoIsAnAtBeforeTheQuery() {
        assertTrue(JdbcUrls.hasUserInfo("jdbc:postgresql://u:p@h/db"));
        assertTrue(JdbcUrls.hasUserInfo("jdbc:postgresql://u@h/db"));
        assertFalse(JdbcUrls.hasUserInfo("jdbc:postgresql://h/db?user=me@corp"));
        assertFalse(JdbcUrls.hasUserInfo("jdbc:postgresql://h:5432/db"));
    }

    @Test
    void secretsGoToTheDriverAsDecodedProperties() {
        JdbcUrls.ForDriver driver = JdbcUrls.forDriver(
                "jdbc:postgresql://h/db?sslmode=require&password=p%26w%3D1&sslpassword=s&ApplicationName=x");
        assertEquals("jdbc:postgresql://h/db?sslmode=require&ApplicationName=x", driver.url());
        assertEquals("p&w=1", driver.secrets().getProperty("password"));
        assertEquals("s", driver.secrets().getProperty("sslpassword"));
        assertEquals("jdbc:postgresql://h/db", JdbcUrls.forDriver("jdbc:postgresql://h/db?password=x").url());
        assertEquals("jdbc:postgresql://h/db", JdbcUrls.forDriver("jdbc:postgresql://h/db").url());
    }
}
