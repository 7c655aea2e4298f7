package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.channels.telegram.TelegramFixture.Mode;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.LogCapture;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TelegramStandIn;
import dev.switchboard.support.TelegramStandIn.Bot;
import dev.switchboard.support.TelegramStandIn.Fault;
import dev.switchboard.support.TelegramStandIn.Incoming;
import dev.switchboard.support.TelegramStandIn.Shown;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transports across restarts and competition: offsets that survive a restart, 409 conflicts,
 * one consumer per bot in a process, the command menu sent only when it changed, webhooks set and
 * removed from config, a token Telegram refuses.
 */
@Timeout(120)
class TelegramTransportTest {
  Vertx vertx;
  TelegramStandIn api;
  DatabaseConfig db;
  @TempDir
  Path root;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    api = new TelegramStandIn(vertx);
    db = TestDatabases.h2();
  }

  @AfterEach
  void stop() throws Exception {
    api.close();
    TestDatabases.dropSchemas(db);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  JsonObject workspace(Bot bot, Mode mode, int port) {
    return TelegramFixture.workspace(port, new JsonArray().add(TelegramFixture.account(mode, "main", bot, api, port)
        .put("dmPolicy", "open")));
  }

  TelegramFixture fixture(JsonObject ws) {
    return new TelegramFixture(vertx, api, Mode.POLLING, root, db, "w", ws);
  }

  static long updateId(JsonObject update) {
    return update.getLong("update_id");
  }

  @Test
  @DisplayName("a restart mid-poll neither loses nor replays an update")
  void restartMidPoll() {
    Bot bot = api.bot("7301:AArestart", 7301, "restart_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u1 = bot.receive(Incoming.dm(701, "Pat", "hello [in:RS1]"));
    f.awaitDelivered(f.runOf("main", u1));
    // the poller moved past u1 and waits in its next long poll
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u1) + 1);
    f.gateway.stop();
    JsonObject u2 = bot.receive(Incoming.dm(701, "Pat", "while you were away [in:RS2]"));
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", u2));
    TelegramStandIn.Call firstAfter = bot.calls("getUpdates").get(before);
    assertThat(firstAfter.params().getLong("offset")).isEqualTo(updateId(u1) + 1);
    assertThat(bot.botMessages(701)).extracting(Shown::text)
        .containsExactly("echo: hello [in:RS1]", "echo: while you were away [in:RS2]");

    f.close();
  }

  @Test
  @DisplayName("D3 by long polling: the offset is lost after an update was stored, Telegram hands it out again: one stored message, one turn, one reply")
  void replayAfterLostOffset() {
    Bot bot = api.bot("7306:AAreplay", 7306, "replay_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    JsonObject u0 = bot.receive(Incoming.dm(705, "Uma", "first [in:LO0]"));
    f.awaitDelivered(f.runOf("main", u0));
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u0) + 1);
    // the poll that would confirm the next update to Telegram never arrives there: it stays pending
    bot.inject(c -> c.method().equals("getUpdates") && c.params().getLong("offset", 0L) > updateId(u0) + 1,
        Fault.timeoutBefore());
    JsonObject u1 = bot.receive(Incoming.dm(705, "Uma", "only once [in:LO1]"));
    String run = f.runOf("main", u1);
    f.awaitDelivered(run);
    bot.awaitCall("getUpdates", c -> c.params().getLong("offset", 0L) == updateId(u1) + 1);
    f.gateway.stop();
    // a crash between storing u1 and saving its offset leaves the offset where it was
    setOffset(f, updateId(u1));
    assertThat(bot.pending()).isEqualTo(1);
    int before = bot.calls("getUpdates").size();
    f.gateway.start();
    String barrier = f.runOf("main", bot.receive(Incoming.dm(705, "Uma", "barrier [in:LO2]")));
    f.awaitDelivered(barrier);
    assertThat(bot.calls("getUpdates").get(before).params().getLong("offset")).isEqualTo(updateId(u1));
    assertThat(bot.botMessages(705)).extracting(Shown::text)
        .containsExactly("echo: first [in:LO0]", "echo: only once [in:LO1]", "echo: barrier [in:LO2]");
    assertThat(f.count("SELECT COUNT(*) FROM inbound WHERE platform_message_id = '705:"
        + u1.getJsonObject("message").getLong("message_id") + "'")).isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:LO1]%'"))
        .isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(3);
    f.close();
  }

  @Test
  @DisplayName("D3 by webhook: Telegram retries an update after a gateway restart, also under a new update id: one stored message, one turn, one reply")
  void webhookRetryAfterRestart() {
    Bot bot = api.bot("7307:AAretry", 7307, "retry_bot");
    int port = TelegramFixture.freePort();
    TelegramFixture f = fixture(workspace(bot, Mode.WEBHOOK, port));
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    JsonObject u1 = bot.receive(Incoming.dm(706, "Vic", "only once [in:WR1]"));
    f.awaitDelivered(f.runOf("main", u1));
    f.gateway.stop();
    f.gateway.start();
    assertThat(bot.redeliver(u1)).isEqualTo(200);
    bot.repeat(u1);
    String barrier = f.runOf("main", bot.receive(Incoming.dm(706, "Vic", "barrier [in:WR2]")));
    f.awaitDelivered(barrier);
    assertThat(bot.botMessages(706)).extracting(Shown::text)
        .containsExactly("echo: only once [in:WR1]", "echo: barrier [in:WR2]");
    assertThat(f.count("SELECT COUNT(*) FROM inbound WHERE platform_message_id = '706:"
        + u1.getJsonObject("message").getLong("message_id") + "'")).isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:WR1]%'"))
        .isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(2);
    f.close();
  }

  /** Sets the persisted offset of account main, as a crash before the last one was saved leaves it. */
  private void setOffset(TelegramFixture f, long offset) {
    try (var c = dev.switchboard.store.Database.connect(db); var s = c.createStatement()) {
      s.execute("SET SCHEMA " + f.schema());
      assertThat(s.executeUpdate("UPDATE channel_state SET state = '" + offset + "' WHERE name = 'offset'")).isEqualTo(1);
    } catch (java.sql.SQLException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("409 from another poller of the same bot: logged, reported in status, polling resumes when it stops")
  void conflict() {
    Bot bot = api.bot("7302:AAconflict", 7302, "conflict_bot");
    TelegramFixture f = fixture(workspace(bot, Mode.POLLING, 0));
    f.awaitStatus(vertx, "main", st -> "polling".equals(st.getString("state")));
    bot.awaitCall("getUpdates", c -> true);
    // another process polls the same token, again and again
    AtomicBoolean rogue = new AtomicBoolean(true);
    WebClient web = WebClient.create(vertx);
    Runnable[] poll = new Runnable[1];
    poll[0] = () -> web.postAbs(api.url() + "/bot" + bot.token + "/getUpdates")
        .sendJsonObject(new JsonObject().put("timeout", 1)).onComplete(ar -> {
          if (rogue.get()) {
            poll[0].run();
          }
        });
    vertx.runOnContext(v -> poll[0].run());
    JsonObject seen = f.awaitStatus(vertx, "main", st -> "conflict".equals(st.getString("state")));
    assertThat(seen.getString("detail")).contains("Conflict: terminated by other getUpdates request");
    // operators see it in the gateway's status view
    try (ProtocolClient c = f.gateway.client(f.workspace)) {
      JsonArray summary = c.call("status", new JsonObject()).getJsonArray("channelSummary");
      assertThat(summary).hasSize(1);
      assertThat(summary.getJsonObject(0).getString("channel")).isEqualTo("telegram");
      assertThat(summary.getJsonObject(0).getString("state")).isEqualTo("conflict");
    }
    rogue.set(false);
    f.awaitStatus(vertx, "main", st -> "polling".equals(st.getString("state")));
    JsonObject u = bot.receive(Incoming.dm(702, "Quin", "still there? [in:C409]"));
    f.awaitDelivered(f.runOf("main", u));
    assertThat(bot.botMessages(702)).hasSize(1);
    web.close();
    f.close();
  }

  @Test
  @DisplayName("two workspaces with the same bot: one receives its updates, the other reports the conflict")
  void oneConsumerPerBot() {
    Bot bot = api.bot("7303:AAshared", 7303, "shared_bot");
    TestGateway gw = TestGateway.in(vertx, root, db).workspace("a", workspace(bot, Mode.POLLING, 0))
        .workspace("b", workspace(bot, Mode.POLLING, 0)).start();
    try {
      TelegramFixture a = new TelegramFixture(gw, api, db, "a", Mode.POLLING);
      TelegramFixture b = new TelegramFixture(gw, api, db, "b", Mode.POLLING);
      // the first to start serves the bot; the other never polls
      String[] states = new String[2];
      a.awaitStatus(vertx, "main", st -> !"starting".equals(st.getString("state")));
      b.awaitStatus(vertx, "main", st -> !"starting".equals(st.getString("state")));
      states[0] = a.status(vertx, "main").getString("state");
      states[1] = b.status(vertx, "main").getString("state");
      assertThat(List.of(states)).containsExactlyInAnyOrder("polling", "conflict");
      JsonObject conflicted = states[0].equals("conflict") ? a.status(vertx, "main") : b.status(vertx, "main");
      assertThat(conflicted.getString("detail")).contains("already served by");
      JsonObject u = bot.receive(Incoming.dm(703, "Rae", "who answers? [in:ONE]"));
      bot.awaitText(703, "[in:ONE]");
      TelegramFixture serving = states[0].equals("polling") ? a : b;
      serving.awaitDelivered(serving.runOf("main", u));
      assertThat(bot.botMessages(703)).hasSize(1);
    } finally {
      gw.close();
    }
  }

  @Test
  @DisplayName("the command menu is sent at the first start and again only when it changed")
  void commandsOnlyWhenChanged() {
    Bot bot = api.bot("7304:AAcommands", 7304, "commands_bot");
    JsonObject ws = workspace(bot, Mode.POLLING, 0);
    TelegramFixture f = fixture(ws);
    bot.awaitCall("getUpdates", c -> true); // the menu is settled before polling starts
    assertThat(bot.calls("setMyCommands")).hasSize(1);
    assertThat(bot.calls("setMyCommands").get(0).params().getJsonArray("commands")).isEqualTo(TelegramAccount.defaultCommands());
    f.gateway.stop();
    int polls = bot.calls("getUpdates").size();
    f.gateway.start();
    bot.awaitCall("getUpdates", c -> bot.calls("getUpdates").indexOf(c) >= polls);
    assertThat(bot.calls("setMyCommands")).hasSize(1);
    f.gateway.stop();
    JsonArray changed = new JsonArray().add(new JsonObject().put("command", "new").put("description", "Fresh start"));
    ws.getJsonObject("channels").getJsonObject("telegram").getJsonArray("accounts").getJsonObject(0).put("commands", changed);
    f.gateway.workspace("w", ws);
    f.gateway.start();
    bot.awaitCall("setMyCommands", c -> c.params().getJsonArray("commands").equals(changed));
    assertThat(bot.calls("setMyCommands")).hasSize(2);
    f.close();
  }

  @Test
  @DisplayName("webhook mode sets the webhook; switching the account to polling deletes it and polls")
  void webhookThenPolling() {
    Bot bot = api.bot("7305:AAswitch", 7305, "switch_bot");
    int port = TelegramFixture.freePort();
    JsonObject ws = workspace(bot, Mode.WEBHOOK, port);
    TelegramFixture f = fixture(ws);
    api.await(() -> bot.webhookUrl() != null, () -> "no webhook set");
    assertThat(bot.webhookUrl()).isEqualTo("http://127.0.0.1:" + port + "/channels/telegram/main/webhook");
    assertThat(bot.calls("setWebhook").get(0).params().getString("secret_token")).isEqualTo("hook-secret-main");
    f.awaitDelivered(f.runOf("main", bot.receive(Incoming.dm(704, "Sam", "by webhook [in:W1]"))));
    f.gateway.stop();
    f.gateway.workspace("w", workspace(bot, Mode.POLLING, 0));
    f.gateway.start();
    f.awaitDelivered(f.runOf("main", bot.receive(Incoming.dm(704, "Sam", "by polling [in:W2]"))));
    assertThat(bot.webhookUrl()).isNull();
    assertThat(bot.calls("deleteWebhook")).isNotEmpty();
    assertThat(bot.botMessages(704)).extracting(Shown::text)
        .containsExactly("echo: by webhook [in:W1]", "echo: by polling [in:W2]");
    f.close();
  }

  @Test
  @DisplayName("a token Telegram refuses stops the workspace with the key path; the token never appears")
  void refusedToken() {
    JsonObject ws = TelegramFixture.workspace(0, new JsonArray().add(new JsonObject().put("id", "main")
        .put("botToken", "9999:AAnot-a-known-bot").put("apiBaseUrl", api.url())));
    LogCapture logs = LogCapture.start();
    try (TestGateway gw = TestGateway.in(vertx, root, db).workspace("ok", TestGateway.echoWorkspace())
        .workspace("bad", ws).start()) {
      List<String> problems = gw.gateway().failed().get(0).problems().stream().map(Object::toString).toList();
      assertThat(problems).anyMatch(p -> p.endsWith("channels.telegram.accounts[0].botToken: Telegram refused this token"
          + " (Unauthorized)"));
      assertThat(String.join("\n", problems)).doesNotContain("AAnot-a-known-bot");
      assertThat(gw.port("ok")).isPositive();
    } finally {
      logs.close();
    }
    TelegramChannelTest.assertNeverLogged(logs, "Telegram refused this token", "9999:AAnot-a-known-bot");
  }
}
