package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Queued input is stored: a restart answers every queued message exactly once. */
@Timeout(120)
class LaneRestartTest {
  @Test
  @DisplayName("messages queued behind a running turn when the gateway stops are each answered exactly once after a restart")
  void queuedMessagesSurviveRestart(@TempDir Path root) throws Exception {
    Vertx vertx = Vertx.vertx();
    DatabaseConfig db = TestDatabases.h2File(root.resolve("data"));
    JsonObject ws = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "echo").put("options", new JsonObject().put("chunkDelayMs", 150).put("chunkWords", 1)))))
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", new JsonArray()
            .add(TestChannel.account("default", "open", new JsonArray())))));
    String slow = String.join(" ", java.util.Collections.nCopies(40, "w"));
    try {
      TestGateway first = TestGateway.in(vertx, root, db).workspace("w", ws);
      // a short grace: the running turn is cut off by the stop and must be resumed too
      first.start(first.gatewayJson().put("shutdown", new JsonObject().put("timeoutMs", 2500)));
      try (TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
        chat.dm("u", "A [in:K1] " + slow);
        chat.dm("u", "B [in:K2]");
        chat.dm("u", "C [in:K3]");
        first.stop();
      }
      long queued = ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"),
          "SELECT COUNT(*) FROM inbound WHERE status <> 'done'")).longValue();
      assertThat(queued).as("messages left for the next start").isGreaterThanOrEqualTo(2);

      try (TestGateway second = TestGateway.in(vertx, root, db).workspace("w", ws).start();
          TestChannel chat = new TestChannel(vertx, db, "w", "test", "default")) {
        chat.awaitText("u", "[in:K3]");
        chat.dm("u", "barrier [in:K4]");
        chat.awaitText("u", "[in:K4]");
        for (String token : new String[] {"[in:K1]", "[in:K2]", "[in:K3]"}) {
          long finals = ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events"
              + " WHERE type = 'text_final' AND payload LIKE '%" + token + "%'")).longValue();
          long users = ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events"
              + " WHERE type = 'user_message' AND payload LIKE '%" + token + "%'")).longValue();
          assertThat(finals).as("replies to %s", token).isEqualTo(1);
          assertThat(users).as("stored messages %s", token).isEqualTo(1);
        }
        // every reply's obligation ends delivered (the user may see a message a moment before that is recorded)
        long deadline = System.currentTimeMillis() + 20_000;
        while (((Number) TestDatabases.scalar(db, db.workspaceSchema("w"),
            "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")).longValue() < 4) {
          assertThat(System.currentTimeMillis()).as("all four obligations delivered").isLessThan(deadline);
          Thread.sleep(20);
        }
        assertThat(((Number) TestDatabases.scalar(db, db.workspaceSchema("w"),
            "SELECT COUNT(*) FROM outbox")).longValue()).isEqualTo(4);
      }
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
