package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.ConfigProblem;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import dev.switchboard.workspace.WorkspaceLoader;
import io.vertx.core.Vertx;
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

/** A broken workspace is reported with its key path and reason; the others start and serve. */
@Timeout(60)
class BrokenWorkspaceTest {
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
  @DisplayName("invalid values are reported with their key paths while the valid workspace serves turns")
  void invalidValues(@TempDir Path root) throws Exception {
    DatabaseConfig db = TestDatabases.h2();
    try (TestGateway gw = TestGateway.in(vertx, root, db)
        .workspace("main", TestGateway.echoWorkspace())
        .workspaceFile("team", """
            { "port": "eighteen", "agents": [ { "id": "Helper!", "model": { "provider": "nope" } } ],
              "session": { "queueMode": "sometimes" }, "surprise": true }
            """)
        .start()) {
      List<WorkspaceLoader.Found> failed = gw.gateway().failed();
      assertThat(failed).extracting(WorkspaceLoader.Found::id).containsExactly("team");
      List<String> problems = failed.get(0).problems().stream().map(ConfigProblem::toString).toList();
      assertThat(problems).anyMatch(p -> p.startsWith("workspaces/team/workspace.json: port: must be a whole number"));
      assertThat(problems).anyMatch(p -> p.startsWith("workspaces/team/workspace.json: agents[0].id:"));
      assertThat(problems).anyMatch(p -> p.contains("agents[0].model.provider: unknown provider \"nope\""));
      assertThat(problems).anyMatch(p -> p.contains("session.queueMode: must be one of"));
      assertThat(problems).noneMatch(p -> p.contains("surprise")); // unknown keys warn, never refuse

      try (ProtocolClient main = gw.client("main")) {
        assertThat(main.chat("main", "still here [in:W2]").getString("state")).isEqualTo("final");
      }
      WebClient web = WebClient.create(vertx);
      var ready = web.get(gw.port("main"), "127.0.0.1", "/ready").send().await(10, TimeUnit.SECONDS);
      assertThat(ready.statusCode()).isEqualTo(200);
      JsonObject body = ready.bodyAsJsonObject();
      assertThat(body.getJsonObject("workspaces").getString("main")).isEqualTo("ready");
      assertThat(body.getJsonObject("workspaces").getString("team")).isEqualTo("failed");
      assertThat(body.getJsonObject("problems").getJsonArray("team").encode()).contains("port");
      web.close();
    } finally {
      TestDatabases.dropSchemas(db);
    }
  }

  @Test
  @DisplayName("a workspace.json that is not JSON is reported with the location of the error")
  void notJson(@TempDir Path root) {
    DatabaseConfig db = TestDatabases.h2();
    try (TestGateway gw = TestGateway.in(vertx, root, db)
        .workspace("main", TestGateway.echoWorkspace())
        .workspaceFile("team", "{ \"port\": 1,\n  \"agents\": [ }\n")
        .start()) {
      ConfigProblem p = gw.gateway().failed().get(0).problems().get(0);
      assertThat(p.path()).isEqualTo("workspaces/team/workspace.json");
      assertThat(p.message()).startsWith("is not valid JSON").contains("line: 2");
      assertThat(gw.gateway().workspaces()).hasSize(1);
    } finally {
      TestDatabases.dropSchemas(db);
    }
  }
}
