package dev.switchboard.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
