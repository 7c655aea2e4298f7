package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.memory.MemoryAddresses;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two workspaces in one process share nothing: not sessions, not memory, not tables. */
@Timeout(60)
class WorkspaceIsolationTest {
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
  @DisplayName("a session and a memory entry made in main are invisible from team through every surface")
  void isolated(@TempDir Path root) throws Exception {
    DatabaseConfig db = TestDatabases.h2();
    try (TestGateway gw = TestGateway.in(vertx, root, db)
        .workspace("main", TestGateway.echoWorkspace())
        .workspace("team", TestGateway.echoWorkspace())
        .start();
        ProtocolClient main = gw.client("main");
        ProtocolClient team = gw.client("team")) {
      assertThat(gw.port("main")).isNotEqualTo(gw.port("team"));
      assertThat(main.chat("agent:main:private-plans", "the secret is 42 [in:S1]").getString("state")).isEqualTo("final");

      // WebSocket: main sees its session; team sees none of it
      assertThat(main.call("sessions.list", new JsonObject()).getJsonArray("sessions")).hasSize(1);
      assertThat(team.call("sessions.list", new JsonObject()).getJsonArray("sessions")).isEmpty();
      JsonObject teamHistory = team.call("chat.history", new JsonObject().put("sessionKey", "agent:main:private-plans"));
      assertThat(teamHistory.getJsonArray("messages")).isEmpty();
      assertThat(team.call("sessions.describe", new JsonObject().put("key", "agent:main:private-plans"))
          .getValue("session")).isNull();
      // team's clients never saw main's chat events
      assertThat(team.frames(f -> "chat".equals(f.getString("event")))).isEmpty();

      // memory engine: written in main, searched in team
      JsonObject written = vertx.eventBus().<JsonObject>request("ws.main." + MemoryAddresses.WRITE,
          new JsonObject().put("agentId", "main").put("text", "the launch code is 42"))
          .map(Message::body).await(10, TimeUnit.SECONDS);
      assertThat(written.getString("id")).isNotBlank();
      JsonObject inMain = vertx.eventBus().<JsonObject>request("ws.main." + MemoryAddresses.SEARCH,
          new JsonObject().put("agentId", "main").put("query", "launch code")).map(Message::body).await(10, TimeUnit.SECONDS);
      JsonObject inTeam = vertx.eventBus().<JsonObject>request("ws.team." + MemoryAddresses.SEARCH,
          new JsonObject().put("agentId", "main").put("query", "launch code")).map(Message::body).await(10, TimeUnit.SECONDS);
      assertThat(inMain.getJsonArray("entries")).hasSize(1);
      assertThat(inTeam.getJsonArray("entries")).isEmpty();

      // database: each workspace has its own schema
      assertThat(count(db, db.workspaceSchema("main"), "sessions")).isEqualTo(1);
      assertThat(count(db, db.workspaceSchema("team"), "sessions")).isZero();
      assertThat(count(db, db.workspaceSchema("team"), "session_events")).isZero();
      assertThat(count(db, db.workspaceSchema("team"), "memory_entries")).isZero();
    } finally {
      TestDatabases.dropSchemas(db);
    }
  }

  static long count(DatabaseConfig db, String schema, String table) {
    return ((Number) TestDatabases.scalar(db, schema, "SELECT COUNT(*) FROM " + table)).longValue();
  }
}
