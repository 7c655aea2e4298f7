package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wrong tokens are rate-limited per origin, loopback included, across every workspace of the
 * process. Its own Vert.x instance, so the lock it provokes touches no other test.
 */
@Timeout(60)
class AuthRateLimitTest {
  Vertx vertx;
  TestGateway gateway;

  @BeforeEach
  void start(@TempDir Path root) {
    gateway = TestGateway.standalone(root).workspace("main", TestGateway.echoWorkspace())
        .workspace("team", TestGateway.echoWorkspace()).start();
    vertx = gateway.vertx();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("after five wrong secrets from loopback, even the right token is refused with AUTH_RATE_LIMITED on every workspace")
  void wrongTokensAreRateLimited() {
    try (ProtocolClient healthy = gateway.client("main")) {
      for (int i = 0; i < 5; i++) {
        boolean password = i == 4; // the secret counts whichever field carries it
        JsonObject auth = password ? new JsonObject().put("password", "wrong-password-" + i)
            : new JsonObject().put("token", "wrong-token-wrong-" + i);
        JsonObject res = attempt("main", auth);
        assertThat(res.getBoolean("ok")).isFalse();
        assertThat(res.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
        assertThat(res.getJsonObject("error").getJsonObject("details").getString("code"))
            .isEqualTo(password ? "AUTH_PASSWORD_MISMATCH" : "AUTH_TOKEN_MISMATCH");
      }
      JsonObject limited = attempt("team", new JsonObject().put("token", TestGateway.TOKEN));
      JsonObject error = limited.getJsonObject("error");
      assertThat(error.getString("code")).isEqualTo("INVALID_REQUEST");
      assertThat(error.getJsonObject("details").getString("code")).isEqualTo("AUTH_RATE_LIMITED");
      assertThat(error.getJsonObject("details").getString("authReason")).isEqualTo("rate_limited");
      assertThat(error.getBoolean("retryable")).isTrue();
      assertThat(error.getLong("retryAfterMs")).isBetween(1L, 60_000L);

      // the connection authenticated before the lock is not affected
      assertThat(healthy.call("health", new JsonObject()).getBoolean("ok")).isTrue();
      assertThat(healthy.chat("main", "still here").getString("state")).isEqualTo("final");
    }
  }

  @Test
  @DisplayName("a missing token is refused with AUTH_TOKEN_MISSING and does not count as a wrong guess")
  void missingTokenIsNotAGuess() {
    for (int i = 0; i < 6; i++) {
      JsonObject res = attempt("main", new JsonObject());
      assertThat(res.getJsonObject("error").getJsonObject("details").getString("code")).isEqualTo("AUTH_TOKEN_MISSING");
    }
    try (ProtocolClient ok = gateway.client("main")) {
      assertThat(ok.hello().getJsonObject("auth").getString("method")).isEqualTo("token");
    }
  }

  /** One connect attempt on a fresh socket; returns the response and checks the close that follows. */
  JsonObject attempt(String workspace, JsonObject auth) {
    try (ProtocolClient c = ProtocolClient.open(vertx, gateway.port(workspace))) {
      JsonObject params = ProtocolClient.connectParams(null, new JsonArray().add("operator.read")).put("auth", auth);
      JsonObject res = c.request("connect", params);
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
      assertThat(c.closeReason()).isEqualTo(res.getJsonObject("error").getString("message"));
      return res;
    }
  }
}
