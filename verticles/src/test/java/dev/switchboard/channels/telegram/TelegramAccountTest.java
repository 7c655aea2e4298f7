package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.ConfigException;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The adapter's keys of channels.telegram.accounts[]: defaults, and every problem with its key path. */
class TelegramAccountTest {
  static WorkspaceConfig workspace(JsonArray accounts) {
    JsonObject ws = new JsonObject().put("port", 0).put("channels", new JsonObject().put("telegram",
        new JsonObject().put("accounts", accounts)));
    return WorkspaceConfig.parse("w", Path.of("workspaces/w"), ws, "workspaces/w/workspace.json", Map.of());
  }

  static List<String> problems(JsonArray accounts, Map<String, String> env) {
    try {
      TelegramAccount.parse(workspace(accounts), env);
      return List.of();
    } catch (ConfigException e) {
      return e.problems().stream().map(Object::toString).toList();
    }
  }

  @Test
  @DisplayName("defaults: polling, 30 s polls, streaming with 1 s between edits, typing, the gateway's commands")
  void defaults() {
    TelegramAccount a = TelegramAccount.parse(workspace(new JsonArray().add(new JsonObject()
        .put("botToken", "${env:TG_TOKEN}"))), Map.of("TG_TOKEN", "123:ABC_def-1")).get(0);
    assertThat(a.id()).isEqualTo("default");
    assertThat(a.webhook()).isFalse();
    assertThat(a.pollTimeoutSeconds()).isEqualTo(30);
    assertThat(a.apiBaseUrl()).isEqualTo("https://api.telegram.org");
    assertThat(a.streaming()).isTrue();
    assertThat(a.editThrottleMs()).isEqualTo(1000);
    assertThat(a.typing()).isTrue();
    assertThat(a.replyToMode()).isEqualTo("off");
    assertThat(a.commands()).isEqualTo(TelegramAccount.defaultCommands());
    assertThat(a.token().reveal()).isEqualTo("123:ABC_def-1");
  }

  @Test
  @DisplayName("dmPolicy pairing with anyone on allowFrom: a warning says no pairing codes are issued; mode: polling written out is noted")
  void pairingUnderAllowlistWarns() {
    WorkspaceConfig ws = workspace(new JsonArray()
        .add(new JsonObject().put("id", "a").put("botToken", "1:x").put("dmPolicy", "pairing").put("allowFrom",
            new JsonArray().add("601")))
        .add(new JsonObject().put("id", "b").put("botToken", "2:x").put("dmPolicy", "pairing").put("mode", "polling")));
    assertThat(ws.warnings()).extracting(Object::toString).containsExactly("workspaces/w/workspace.json:"
        + " channels.telegram.accounts[0].dmPolicy: pairing codes are not issued while allowFrom lists anyone: only the"
        + " senders it lists can DM (an allowlist always wins); empty allowFrom to pair unknown senders");
    assertThat(ws.routing().accounts()).extracting(a -> a.pairs()).containsExactly(false, true);
    assertThat(TelegramAccount.parse(ws, Map.of())).extracting(TelegramAccount::pollingForced).containsExactly(false, true);
  }

  @Test
  @DisplayName("every problem is reported with its key path, and a token is never echoed")
  void problems() {
    List<String> p = problems(new JsonArray()
        .add(new JsonObject().put("id", "a"))
        .add(new JsonObject().put("id", "b").put("botToken", "not a token secret-ish").put("mode", "push"))
        .add(new JsonObject().put("id", "c").put("botToken", "1:x").put("mode", "webhook").put("replyToMode", "some")
            .put("commands", new JsonArray().add(new JsonObject().put("command", "/Bad").put("description", ""))))
        .add(new JsonObject().put("id", "d").put("botToken", "1:x")), Map.of());
    assertThat(p).anyMatch(x -> x.endsWith("channels.telegram.accounts[0].botToken: is required (the token @BotFather gave the bot)"));
    assertThat(p).anyMatch(x -> x.contains("accounts[1].botToken: does not look like a bot token"));
    assertThat(p).anyMatch(x -> x.contains("accounts[1].mode: must be polling or webhook, got \"push\""));
    assertThat(p).anyMatch(x -> x.contains("accounts[2].webhookUrl: is required in webhook mode"));
    assertThat(p).anyMatch(x -> x.contains("accounts[2].webhookSecret: is required in webhook mode"));
    assertThat(p).anyMatch(x -> x.contains("accounts[2].replyToMode: must be one of off, first, all"));
    assertThat(p).anyMatch(x -> x.contains("accounts[2].commands[0].command: must be 1-32 lower-case letters"));
    assertThat(p).anyMatch(x -> x.contains("accounts[2].commands[0].description: must be 1-256 characters"));
    assertThat(p).anyMatch(x -> x.contains("accounts[3].botToken: is the same bot as account \"c\""));
    assertThat(String.join("\n", p)).doesNotContain("secret-ish");
  }

  @Test
  @DisplayName("a webhook needs an http(s) URL and a secret Telegram accepts; an unset environment variable is named")
  void webhookKeys() {
    List<String> p = problems(new JsonArray().add(new JsonObject().put("botToken", "1:x").put("mode", "webhook")
        .put("webhookUrl", "ftp://x").put("webhookSecret", "has spaces")), Map.of());
    assertThat(p).anyMatch(x -> x.contains("webhookUrl: must be an http:// or https:// URL"));
    assertThat(p).anyMatch(x -> x.contains("webhookSecret: must be 1-256 characters: letters, digits, '-' or '_'"));
    assertThat(problems(new JsonArray().add(new JsonObject().put("botToken", "${env:NOPE}")), Map.of()))
        .anyMatch(x -> x.contains("botToken: refers to environment variable NOPE, which is not set"));
    assertThatThrownBy(() -> TelegramAccount.parse(workspace(new JsonArray().add(new JsonObject().put("botToken", "1:x")
        .put("pollTimeoutSeconds", 99))), Map.of())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("pollTimeoutSeconds: must be between 0 and 50");
  }
}
