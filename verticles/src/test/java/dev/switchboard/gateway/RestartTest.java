package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** History lives in the database, so it survives the verticles being stopped and started again. */
@Timeout(90)
class RestartTest {
  static Vertx vertx;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("chat.history returns the same session and messages after a restart, and the next turn continues it")
  void historySurvivesRestart(@TempDir Path root) {
    DatabaseConfig db = TestDatabases.h2File(root.resolve("data"));
    String sessionId;
    try (TestGateway gw = TestGateway.in(vertx, root, db).workspace("main", TestGateway.echoWorkspace()).start();
        ProtocolClient c = gw.client("main")) {
      c.chat("main", "before the restart [in:R1]");
      sessionId = c.call("chat.history", new JsonObject().put("sessionKey", "main")).getString("sessionId");
    }
    try (TestGateway gw = TestGateway.in(vertx, root, db).workspace("main", TestGateway.echoWorkspace()).start();
        ProtocolClient c = gw.client("main")) {
      JsonObject history = c.call("chat.history", new JsonObject().put("sessionKey", "main"));
      assertThat(history.getString("sessionId")).isEqualTo(sessionId);
      JsonArray messages = history.getJsonArray("messages");
      assertThat(messages).hasSize(2);
      assertThat(messages.getJsonObject(0).getJsonArray("content").getJsonObject(0).getString("text"))
          .isEqualTo("before the restart [in:R1]");

      c.chat("main", "after the restart [in:R2]");
      JsonObject after = c.call("chat.history", new JsonObject().put("sessionKey", "main"));
      assertThat(after.getString("sessionId")).isEqualTo(sessionId);
      assertThat(after.getJsonArray("messages")).hasSize(4);
      assertThat(after.getJsonArray("messages").stream().map(m -> ((JsonObject) m).getLong("seq")))
          .isSorted().doesNotHaveDuplicates();
    }
  }
}
