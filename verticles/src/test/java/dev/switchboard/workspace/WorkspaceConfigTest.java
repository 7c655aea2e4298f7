package dev.switchboard.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class WorkspaceConfigTest {
  static final Path DIR = Path.of("/srv/sb/workspaces/acme");

  static WorkspaceConfig parse(JsonObject json) {
    return WorkspaceConfig.parse("acme", DIR, json, "workspace.json", Map.of());
  }

  static List<String> problems(JsonObject json) {
    ConfigException e = Assertions.assertThrows(ConfigException.class, () -> parse(json));
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  @DisplayName("only the port is required; the default agent is main on the echo model")
  void defaults() {
    WorkspaceConfig c = parse(new JsonObject().put("port", 18800));
    assertThat(c.agents()).singleElement().satisfies(a -> {
      assertThat(a.id()).isEqualTo("main");
      assertThat(a.model().provider()).isEqualTo("echo");
      assertThat(a.dir()).isEqualTo(DIR);
    });
    assertThat(c.session().dmScope()).isEqualTo("per-channel-peer");
    assertThat(c.session().queueMode()).isEqualTo("followup");
    assertThat(problems(new JsonObject())).containsExactly("workspace.json: port: is required (each workspace listens on its own port)");
  }

  @Test
  @DisplayName("the first agent is the default unless one says so; two defaults or duplicate ids are problems")
  void agents() {
    JsonArray agents = new JsonArray().add(new JsonObject().put("id", "a")).add(new JsonObject().put("id", "b"));
    assertThat(parse(new JsonObject().put("port", 1).put("agents", agents)).defaultAgent().id()).isEqualTo("a");
    agents.getJsonObject(1).put("default", true);
    assertThat(parse(new JsonObject().put("port", 1).put("agents", agents)).defaultAgent().id()).isEqualTo("b");
    agents.getJsonObject(0).put("default", true).put("id", "b");
    assertThat(problems(new JsonObject().put("port", 1).put("agents", agents)))
        .contains("workspace.json: agents[1].id: duplicate agent id \"b\"",
            "workspace.json: agents: at most one agent may have \"default\": true, found 2");
  }

  @Test
  @DisplayName("delivery settings: defaults, values in range, and every out-of-range one named with its path")
  void deliverySettings() {
    WorkspaceConfig.DeliverySettings d = parse(new JsonObject().put("port", 1)).delivery();
    assertThat(d).isEqualTo(new WorkspaceConfig.DeliverySettings(false, 8, 1_000, 300_000, 30_000));
    JsonObject set = new JsonObject().put("mirror", true).put("maxAttempts", 3).put("backoffMs", 50)
        .put("maxBackoffMs", 200).put("sendTimeoutMs", 2_000);
    assertThat(parse(new JsonObject().put("port", 1).put("delivery", set)).delivery())
        .isEqualTo(new WorkspaceConfig.DeliverySettings(true, 3, 50, 200, 2_000));
    JsonObject bad = new JsonObject().put("maxAttempts", 0).put("sendTimeoutMs", "soon");
    assertThat(problems(new JsonObject().put("port", 1).put("delivery", bad))).containsExactlyInAnyOrder(
        "workspace.json: delivery.maxAttempts: must be between 1 and 100, got 0",
        "workspace.json: delivery.sendTimeoutMs: must be a whole number, got \"soon\"");
    assertThat(problems(new JsonObject().put("port", 1).put("delivery", new JsonObject().put("backoffMs", 5_000)
        .put("maxBackoffMs", 1_000))))
        .containsExactly("workspace.json: delivery.maxBackoffMs: must not be less than backoffMs (5000)");
  }

  @Test
  @DisplayName("a broadcast group that lists an agent twice is a configuration problem")
  void broadcastAgentTwice() {
    JsonArray agents = new JsonArray().add(new JsonObject().put("id", "a")).add(new JsonObject().put("id", "b"));
    JsonArray groups = new JsonArray().add(new JsonObject().put("channel", "telegram")
        .put("peer", new JsonObject().put("id", "-100")).put("agents", new JsonArray().add("a").add("b").add("a")));
    assertThat(problems(new JsonObject().put("port", 1).put("agents", agents).put("broadcast", groups)))
        .containsExactly("workspace.json: broadcast[0].agents: lists an agent more than once: [a, b, a]");
  }

  @Test
  @DisplayName("an agent folder must stay inside the workspace folder")
  void agentDirConfined() {
    JsonArray agents = new JsonArray().add(new JsonObject().put("id", "a").put("dir", "../other"));
    assertThat(problems(new JsonObject().put("port", 1).put("agents", agents)))
        .containsExactly("workspace.json: agents[0].dir: must stay inside the workspace folder");
  }

  @Test
  @DisplayName("the folder name is the id; a different declared id is a problem")
  void idMatchesFolder() {
    assertThat(problems(new JsonObject().put("port", 1).put("id", "other")))
        .containsExactly("workspace.json: id: must match the folder name \"acme\" (or be left out), got \"other\"");
  }

  @Test
  @DisplayName("session.cache bounds the history kept in memory: 100 sessions × 200 messages unless set; bad values name their path")
  void historyCache() {
    WorkspaceConfig defaults = parse(new JsonObject().put("port", 1));
    assertThat(defaults.session().cacheSessions()).isEqualTo(100);
    assertThat(defaults.session().cacheMessages()).isEqualTo(200);
    WorkspaceConfig set = parse(new JsonObject().put("port", 1).put("session", new JsonObject()
        .put("cache", new JsonObject().put("sessions", 0).put("messages", 50))));
    assertThat(set.session().cacheSessions()).isZero();
    assertThat(set.session().cacheMessages()).isEqualTo(50);
    assertThat(problems(new JsonObject().put("port", 1).put("session", new JsonObject()
        .put("cache", new JsonObject().put("sessions", -1).put("messages", 0)))))
        .anyMatch(p -> p.startsWith("workspace.json: session.cache.sessions:"))
        .anyMatch(p -> p.startsWith("workspace.json: session.cache.messages:"));
    assertThat(problems(new JsonObject().put("port", 1).put("session", new JsonObject()
        .put("cache", new JsonObject().put("messages", "many")))))
        .anyMatch(p -> p.startsWith("workspace.json: session.cache.messages:"));
  }
}
