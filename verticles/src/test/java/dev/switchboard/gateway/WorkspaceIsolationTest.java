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
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Path;
import java.util.List;
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
      // main's session, by id or by key, resolves to nothing through team
      String mainSessionId = main.call("sessions.describe", new JsonObject().put("key", "agent:main:private-plans"))
          .getJsonObject("session").getString("sessionId");
      assertThat(main.call("sessions.resolve", new JsonObject().put("sessionId", mainSessionId)).getBoolean("ok"))
          .isTrue();
      assertThat(team.call("sessions.resolve", new JsonObject().put("sessionId", mainSessionId)))
          .isEqualTo(new JsonObject().put("ok", false));
      assertThat(team.call("sessions.resolve", new JsonObject().put("key", "agent:main:private-plans")))
          .isEqualTo(new JsonObject().put("ok", false));
      // a team client subscribed to the same key hears team's own turn there, never main's
      team.call("sessions.messages.subscribe", new JsonObject().put("key", "agent:main:private-plans"));
      main.chat("agent:main:private-plans", "the second secret is 43 [in:S2]");
      team.chat("agent:main:private-plans", "team's own words [in:S3]");
      List<String> heard = team.frames(f -> "session.message".equals(f.getString("event"))).stream()
          .map(f -> f.getJsonObject("payload").encode()).toList();
      assertThat(heard).anyMatch(m -> m.contains("[in:S3]"));
      assertThat(heard).noneMatch(m -> m.contains("secret"));

      // REST with the same token: team's port lists and inspects only team's own session
      WebClient web = WebClient.create(vertx);
      try {
        assertThat(rest(web, gw.port("main"), "/api/sessions")).contains("the second secret is 43");
        assertThat(rest(web, gw.port("team"), "/api/sessions")).contains("team's own words").doesNotContain("secret");
        assertThat(rest(web, gw.port("team"), "/api/sessions/agent:main:private-plans/context"))
            .contains("team's own words").doesNotContain("secret");
      } finally {
        web.close();
      }

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
      // team's one session is its own turn above; none of main's words are in team's tables
      assertThat(count(db, db.workspaceSchema("team"), "sessions")).isEqualTo(1);
      assertThat(count(db, db.workspaceSchema("team"), "session_events WHERE payload LIKE '%secret%'")).isZero();
      assertThat(count(db, db.workspaceSchema("team"), "session_events WHERE payload LIKE '%[in:S3]%'")).isPositive();
      assertThat(count(db, db.workspaceSchema("team"), "memory_entries")).isZero();
    } finally {
      TestDatabases.dropSchemas(db);
    }
  }

  static String rest(WebClient web, int port, String path) throws Exception {
    var res = web.get(port, "127.0.0.1", path).putHeader("Authorization", "Bearer " + TestGateway.TOKEN)
        .send().await(10, TimeUnit.SECONDS);
    assertThat(res.statusCode()).as(path).isEqualTo(200);
    return res.bodyAsString();
  }

  static long count(DatabaseConfig db, String schema, String table) {
    return ((Number) TestDatabases.scalar(db, schema, "SELECT COUNT(*) FROM " + table)).longValue();
  }
}
