package dev.switchboard.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The binding precedence table: exact peer → parent peer → peer wildcard → guild → team → account → channel → default. */
class BindingResolverTest {
  static final JsonArray AGENTS = new JsonArray();

  static {
    for (String a : List.of("fallback", "peer", "parent", "wildcard", "guild", "roles", "team", "account", "channel")) {
      AGENTS.add(new JsonObject().put("id", a));
    }
    AGENTS.getJsonObject(0).put("default", true);
  }

  static JsonObject binding(String agent, JsonObject match) {
    return new JsonObject().put("agentId", agent).put("match", match);
  }

  // written least specific first, to prove that file order does not beat precedence
  static final JsonArray BINDINGS = new JsonArray()
      .add(binding("channel", new JsonObject().put("channel", "discord")))
      .add(binding("channel", new JsonObject().put("channel", "telegram")))
      .add(binding("account", new JsonObject().put("channel", "telegram").put("accountId", "support")))
      .add(binding("team", new JsonObject().put("channel", "slack").put("teamId", "T1")))
      .add(binding("guild", new JsonObject().put("channel", "discord").put("guildId", "G1")))
      .add(binding("roles", new JsonObject().put("channel", "discord").put("guildId", "G2").put("roles", new JsonArray().add("admin"))))
      .add(binding("wildcard", new JsonObject().put("channel", "telegram").put("peer", new JsonObject().put("kind", "group").put("id", "*"))))
      .add(binding("peer", new JsonObject().put("channel", "telegram").put("peer", new JsonObject().put("kind", "group").put("id", "-100"))))
      .add(binding("parent", new JsonObject().put("channel", "discord").put("peer", new JsonObject().put("kind", "channel").put("id", "C9"))));

  static final BindingResolver RESOLVER = new BindingResolver(WorkspaceConfig.parse("w", Path.of("/w"),
      new JsonObject().put("port", 1).put("agents", AGENTS).put("bindings", BINDINGS), "workspace.json", Map.of()));

  static BindingResolver.Match route(Inbound in) {
    return RESOLVER.resolve(in);
  }

  @Test
  @DisplayName("each tier wins over every less specific one, whatever the order in the file")
  void precedence() {
    assertThat(route(Inbound.from("telegram", "default").peer("group", "-100").build()).agentId()).isEqualTo("peer");
    assertThat(route(Inbound.from("telegram", "support").peer("group", "-100").build()).agentId()).isEqualTo("peer");
    assertThat(route(Inbound.from("telegram", "support").peer("group", "-200").build()).agentId()).isEqualTo("wildcard");
    assertThat(route(Inbound.from("telegram", "support").peer("direct", "42").build()).agentId()).isEqualTo("account");
    assertThat(route(Inbound.from("telegram", "default").peer("direct", "42").build()).agentId()).isEqualTo("channel");
    assertThat(route(Inbound.from("discord", "default").peer("channel", "T77").parentPeer("C9").guild("G1", List.of()).build())
        .agentId()).isEqualTo("parent");
    assertThat(route(Inbound.from("discord", "default").peer("channel", "C1").guild("G1", List.of()).build()).agentId())
        .isEqualTo("guild");
    assertThat(route(Inbound.from("discord", "default").peer("channel", "C1").guild("G2", List.of("admin")).build()).agentId())
        .isEqualTo("roles");
    assertThat(route(Inbound.from("discord", "default").peer("channel", "C1").guild("G2", List.of("guest")).build()).agentId())
        .isEqualTo("channel");
    assertThat(route(Inbound.from("slack", "default").peer("channel", "C1").team("T1").build()).agentId()).isEqualTo("team");
    assertThat(route(Inbound.from("slack", "default").peer("channel", "C1").team("T2").build()).agentId()).isEqualTo("fallback");
    assertThat(route(Inbound.from("whatsapp", "default").peer("direct", "1").build()).tier())
        .isEqualTo(BindingResolver.Tier.DEFAULT);
  }

  @Test
  @DisplayName("the same inbound always lands on the same agent, and the match says which binding chose it")
  void deterministic() {
    Inbound in = Inbound.from("telegram", "support").peer("group", "-100").build();
    BindingResolver.Match m = route(in);
    for (int i = 0; i < 5; i++) {
      assertThat(route(in)).isEqualTo(m);
    }
    assertThat(m.tier()).isEqualTo(BindingResolver.Tier.PEER);
    assertThat(m.bindingPath()).isEqualTo("bindings[7]");
  }

  @Test
  @DisplayName("a binding to an agent that does not exist is a configuration problem with its path")
  void unknownAgent() {
    JsonArray bad = new JsonArray().add(binding("ghost", new JsonObject().put("channel", "telegram")));
    var e = org.junit.jupiter.api.Assertions.assertThrows(dev.switchboard.config.ConfigException.class,
        () -> WorkspaceConfig.parse("w", Path.of("/w"), new JsonObject().put("port", 1).put("bindings", bad),
            "workspace.json", Map.of()));
    assertThat(e.getMessage()).isEqualTo("workspace.json: bindings[0].agentId: no agent \"ghost\" in agents[]");
  }
}
