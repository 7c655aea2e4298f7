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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

  static BindingResolver resolver(JsonArray bindings) {
    return new BindingResolver(WorkspaceConfig.parse("w", Path.of("/w"),
        new JsonObject().put("port", 1).put("agents", AGENTS).put("bindings", bindings), "workspace.json", Map.of()));
  }

  /** One binding per tier that all match a message in Discord thread T1 (parent C1, guild G1) on account "bot". */
  static final List<JsonObject> DISCORD_TIERS = List.of(
      binding("peer", new JsonObject().put("channel", "discord").put("peer", new JsonObject().put("kind", "channel").put("id", "T1"))),
      binding("parent", new JsonObject().put("channel", "discord").put("peer", new JsonObject().put("kind", "channel").put("id", "C1"))),
      binding("wildcard", new JsonObject().put("channel", "discord").put("peer", new JsonObject().put("kind", "channel").put("id", "*"))),
      binding("guild", new JsonObject().put("channel", "discord").put("guildId", "G1")),
      binding("account", new JsonObject().put("channel", "discord").put("accountId", "bot")),
      binding("channel", new JsonObject().put("channel", "discord")));
  static final List<BindingResolver.Tier> DISCORD_TIER_NAMES = List.of(BindingResolver.Tier.PEER,
      BindingResolver.Tier.PARENT_PEER, BindingResolver.Tier.PEER_WILDCARD, BindingResolver.Tier.GUILD,
      BindingResolver.Tier.ACCOUNT, BindingResolver.Tier.CHANNEL, BindingResolver.Tier.DEFAULT);

  /**
   * Row k: only the bindings of tier k and every less specific tier exist (written least specific
   * first), and the message matches all of them: tier k must win. Row 6: none, the default agent.
   */
  @ParameterizedTest(name = "row {0}")
  @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
  @DisplayName("the full table on one Discord thread: each tier beats every less specific one (exact peer > parent peer > wildcard > guild > account > channel > default)")
  void discordTable(int k) {
    JsonArray bindings = new JsonArray();
    for (int i = DISCORD_TIERS.size() - 1; i >= k; i--) {
      bindings.add(DISCORD_TIERS.get(i));
    }
    Inbound thread = Inbound.from("discord", "bot").peer("channel", "T1").parentPeer("C1").guild("G1", List.of()).build();
    BindingResolver.Match m = resolver(bindings).resolve(thread);
    assertThat(m.tier()).isEqualTo(DISCORD_TIER_NAMES.get(k));
    assertThat(m.agentId()).isEqualTo(k < DISCORD_TIERS.size() ? DISCORD_TIERS.get(k).getString("agentId") : "fallback");
  }

  static final List<JsonObject> SLACK_TIERS = List.of(
      binding("team", new JsonObject().put("channel", "slack").put("teamId", "T9")),
      binding("account", new JsonObject().put("channel", "slack").put("accountId", "bot")),
      binding("channel", new JsonObject().put("channel", "slack")));

  @ParameterizedTest(name = "row {0}")
  @ValueSource(ints = {0, 1, 2, 3})
  @DisplayName("on one Slack channel: team beats account beats channel beats the default")
  void slackTable(int k) {
    JsonArray bindings = new JsonArray();
    for (int i = SLACK_TIERS.size() - 1; i >= k; i--) {
      bindings.add(SLACK_TIERS.get(i));
    }
    Inbound room = Inbound.from("slack", "bot").peer("channel", "C5").team("T9").build();
    assertThat(resolver(bindings).resolve(room).agentId())
        .isEqualTo(k < SLACK_TIERS.size() ? SLACK_TIERS.get(k).getString("agentId") : "fallback");
  }

  @Test
  @DisplayName("a binding matches only its own channel, account, peer kind and guild roles")
  void criteriaMustAllMatch() {
    JsonArray bindings = new JsonArray()
        .add(binding("peer", new JsonObject().put("channel", "telegram").put("accountId", "support")
            .put("peer", new JsonObject().put("kind", "group").put("id", "-1"))))
        .add(binding("roles", new JsonObject().put("channel", "discord").put("guildId", "G1")
            .put("roles", new JsonArray().add("admin").add("mod"))))
        .add(binding("guild", new JsonObject().put("channel", "discord").put("guildId", "G1")));
    BindingResolver r = resolver(bindings);
    assertThat(r.resolve(Inbound.from("telegram", "support").peer("group", "-1").build()).agentId()).isEqualTo("peer");
    // same peer id, other account, other kind, other channel: not that binding
    assertThat(r.resolve(Inbound.from("telegram", "default").peer("group", "-1").build()).agentId()).isEqualTo("fallback");
    assertThat(r.resolve(Inbound.from("telegram", "support").peer("direct", "-1").build()).agentId()).isEqualTo("fallback");
    assertThat(r.resolve(Inbound.from("slack", "support").peer("group", "-1").build()).agentId()).isEqualTo("fallback");
    // within the guild tier, file order: the roles binding first, for a sender with one of its roles
    assertThat(r.resolve(Inbound.from("discord", "x").peer("channel", "C").guild("G1", List.of("mod")).build()).agentId())
        .isEqualTo("roles");
    assertThat(r.resolve(Inbound.from("discord", "x").peer("channel", "C").guild("G1", List.of("guest")).build()).agentId())
        .isEqualTo("guild");
    assertThat(r.resolve(Inbound.from("discord", "x").peer("channel", "C").guild("G2", List.of("admin")).build()).agentId())
        .isEqualTo("fallback");
  }
}
