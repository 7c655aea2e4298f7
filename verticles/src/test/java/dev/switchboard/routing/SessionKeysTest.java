package dev.switchboard.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SessionKeysTest {
  @ParameterizedTest(name = "dmScope {0} → {1}")
  @CsvSource({
      "main, agent:main:main",
      "per-peer, agent:main:direct:u42",
      "per-channel-peer, agent:main:telegram:direct:u42",
      "per-account-channel-peer, agent:main:telegram:bot1:direct:u42"})
  @DisplayName("direct-message keys follow the dmScope")
  void directKeys(String scope, String expected) {
    assertThat(SessionKeys.direct("main", scope, "main", "telegram", "bot1", "U42")).isEqualTo(expected);
  }

  @Test
  @DisplayName("groups, rooms, threads and topics have their own keys; everything is lower-case")
  void groupKeys() {
    assertThat(SessionKeys.group("Ops", "slack", "group", "C01ABC")).isEqualTo("agent:ops:slack:group:c01abc");
    assertThat(SessionKeys.group("ops", "discord", "channel", "123")).isEqualTo("agent:ops:discord:channel:123");
    assertThat(SessionKeys.thread(SessionKeys.group("ops", "slack", "group", "c1"), "1700.1"))
        .isEqualTo("agent:ops:slack:group:c1:thread:1700.1");
    assertThat(SessionKeys.topic(SessionKeys.group("ops", "telegram", "group", "-100"), "7"))
        .isEqualTo("agent:ops:telegram:group:-100:topic:7");
    assertThat(SessionKeys.thread("agent:a:b", null)).isEqualTo("agent:a:b");
  }

  @Test
  @DisplayName("client keys are canonicalised: main and empty mean the main session, bare names get the agent")
  void canonical() {
    assertThat(SessionKeys.canonical("main", "main", "main")).isEqualTo("agent:main:main");
    assertThat(SessionKeys.canonical("", "helper", "home")).isEqualTo("agent:helper:home");
    assertThat(SessionKeys.canonical("tui-1234", "main", "main")).isEqualTo("agent:main:tui-1234");
    assertThat(SessionKeys.canonical("Agent:Main:Work", "other", "main")).isEqualTo("agent:main:work");
    assertThat(SessionKeys.agentOf("agent:ops:slack:group:c1")).isEqualTo("ops");
    assertThat(SessionKeys.kindOf("agent:ops:slack:group:c1")).isEqualTo("group");
    assertThatThrownBy(() -> SessionKeys.canonical("has space", "main", "main")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SessionKeys.canonical("agent:x", "main", "main")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SessionKeys.canonical("k".repeat(513), "main", "main")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("a group member's own session hangs under the group (and its topic); no person means the group's key")
  void memberKeys() {
    String group = SessionKeys.group("main", "telegram", "group", "-100");
    assertThat(SessionKeys.member(group, "Alice")).isEqualTo("agent:main:telegram:group:-100:member:alice");
    assertThat(SessionKeys.member(SessionKeys.topic(group, "7"), "42"))
        .isEqualTo("agent:main:telegram:group:-100:topic:7:member:42");
    assertThat(SessionKeys.member(group, null)).isEqualTo(group);
    assertThat(SessionKeys.member(group, "")).isEqualTo(group);
    // spaces and control characters never reach a key
    assertThat(SessionKeys.member(group, "Ann Lee")).isEqualTo("agent:main:telegram:group:-100:member:ann_lee");
  }

  static WorkspaceConfig workspace(JsonObject session) {
    return WorkspaceConfig.parse("w", Path.of("/w"), new JsonObject().put("port", 1).put("session", session),
        "workspace.json", Map.of());
  }

  @Test
  @DisplayName("the key of a chat as a delivery target follows the workspace's dmScope for DMs and the group shape otherwise")
  void chatKeys() {
    WorkspaceConfig perChannel = workspace(new JsonObject());
    WorkspaceConfig main = workspace(new JsonObject().put("dmScope", "main").put("mainKey", "home"));
    WorkspaceConfig perAccount = workspace(new JsonObject().put("dmScope", "per-account-channel-peer"));
    assertThat(SessionKeys.forChat(perChannel, "main", "telegram", "bot1", "direct", "42", null))
        .isEqualTo("agent:main:telegram:direct:42");
    assertThat(SessionKeys.forChat(main, "main", "telegram", "bot1", "direct", "42", null)).isEqualTo("agent:main:home");
    assertThat(SessionKeys.forChat(perAccount, "ops", "telegram", "Bot1", "direct", "42", null))
        .isEqualTo("agent:ops:telegram:bot1:direct:42");
    assertThat(SessionKeys.forChat(perChannel, "main", "telegram", "bot1", "group", "-100", "7"))
        .isEqualTo("agent:main:telegram:group:-100:thread:7");
    assertThat(SessionKeys.forChat(perChannel, "main", "slack", "default", "channel", "C1", null))
        .isEqualTo("agent:main:slack:channel:c1");
  }

  @Test
  @DisplayName("a key's type: groups and rooms are group sessions, everything else direct")
  void types() {
    assertThat(SessionKeys.typeOf("agent:main:slack:channel:c1:thread:1")).isEqualTo("group");
    assertThat(SessionKeys.typeOf("agent:main:telegram:group:-1:member:2")).isEqualTo("group");
    assertThat(SessionKeys.typeOf("agent:main:telegram:direct:2")).isEqualTo("direct");
    assertThat(SessionKeys.typeOf("agent:main:tui-1")).isEqualTo("direct");
  }
}
