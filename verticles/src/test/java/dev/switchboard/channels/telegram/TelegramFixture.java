package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.Poll;
import dev.switchboard.support.TelegramStandIn;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A gateway whose workspace serves Telegram bots against the Bot API stand-in, in polling or
 * webhook mode, with helpers to read what the gateway stored.
 */
final class TelegramFixture implements AutoCloseable {
  /** How the bots receive updates. */
  enum Mode {
    POLLING, WEBHOOK
  }

  final Mode mode;
  final TelegramStandIn api;
  final DatabaseConfig db;
  final TestGateway gateway;
  final String workspace;

  TelegramFixture(Vertx vertx, TelegramStandIn api, Mode mode, Path root, DatabaseConfig db, String workspace,
      JsonObject workspaceJson) {
    this.mode = mode;
    this.api = api;
    this.db = db;
    this.workspace = workspace;
    this.gateway = TestGateway.in(vertx, root, db).workspace(workspace, workspaceJson).start();
    if (!gateway.gateway().failed().isEmpty()) {
      throw new IllegalStateException("workspace did not start: " + gateway.gateway().failed().get(0).problems());
    }
  }

  /** A view of a workspace in a gateway started elsewhere. */
  TelegramFixture(TestGateway gateway, TelegramStandIn api, DatabaseConfig db, String workspace, Mode mode) {
    this.mode = mode;
    this.api = api;
    this.db = db;
    this.workspace = workspace;
    this.gateway = gateway;
  }

  /** A free loopback port for a workspace that must know its URL before it starts (webhooks). */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A bot account entry for {@code channels.telegram.accounts[]}, in the fixture's mode. */
  static JsonObject account(Mode mode, String id, TelegramStandIn.Bot bot, TelegramStandIn api, int port) {
    JsonObject a = new JsonObject().put("id", id).put("botToken", bot.token).put("apiBaseUrl", api.url())
        .put("pollTimeoutSeconds", 20).put("requestTimeoutMs", 2_000).put("editThrottleMs", 250)
        .put("typingIntervalMs", 200);
    if (mode == Mode.WEBHOOK) {
      a.put("mode", "webhook").put("webhookUrl", "http://127.0.0.1:" + port + "/channels/telegram/" + id + "/webhook")
          .put("webhookSecret", "hook-secret-" + id);
    }
    return a;
  }

  static JsonObject workspace(int port, JsonArray accounts) {
    return new JsonObject().put("port", port)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("default", true)
                .put("model", new JsonObject().put("provider", "echo")
                    .put("options", new JsonObject().put("chunkWords", 2).put("chunkDelayMs", 30))))
            .add(new JsonObject().put("id", "fast").put("model", new JsonObject().put("provider", "echo")
                .put("options", new JsonObject().put("chunkWords", 40).put("chunkDelayMs", 5)))))
        .put("channels", new JsonObject().put("telegram", new JsonObject().put("accounts", accounts)));
  }

  String schema() {
    return db.workspaceSchema(workspace);
  }

  long count(String sql) {
    return ((Number) TestDatabases.scalar(db, schema(), sql)).longValue();
  }

  Object scalar(String sql) {
    return TestDatabases.scalar(db, schema(), sql);
  }

  /** How the gateway stores a Telegram message's id: {@code <chat id>:<message id>}. */
  static String platformId(JsonObject update) {
    JsonObject msg = update.getJsonObject("message");
    return msg.getJsonObject("chat").getValue("id") + ":" + msg.getValue("message_id");
  }

  /** The run id of the turn a Telegram message started (waits until it is stored). */
  String runOf(String account, JsonObject update) {
    String pmid = platformId(update);
    String sql = "SELECT COUNT(*) FROM inbound WHERE account_id = '" + account + "' AND platform_message_id = '" + pmid + "'";
    TestDatabases.awaitValue(db, schema(), sql, 1L);
    return (String) scalar("SELECT run_id FROM inbound WHERE account_id = '" + account + "' AND platform_message_id = '"
        + pmid + "'");
  }

  /** A user writes to {@code bot} (account {@code account}); waits until the reply is delivered; returns the update. */
  JsonObject talk(String account, TelegramStandIn.Bot bot, TelegramStandIn.Incoming message) {
    JsonObject update = bot.receive(message);
    awaitDelivered(runOf(account, update));
    return update;
  }

  /** Waits until the message of {@code update} was finished with {@code status} (done, rejected). */
  void awaitInbound(String account, JsonObject update, String status) {
    String pmid = platformId(update);
    TestDatabases.awaitValue(db, schema(), "SELECT status FROM inbound WHERE account_id = '" + account
        + "' AND platform_message_id = '" + pmid + "'", status);
  }

  /**
   * D3's counts for a message delivered more than once: stored once, one user message (the one
   * holding {@code token}), one turn.
   */
  void assertOneTurn(JsonObject update, String token) {
    String pmid = platformId(update);
    assertThat(count("SELECT COUNT(*) FROM inbound WHERE platform_message_id = '" + pmid + "'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:" + token
        + "]%'")).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start' AND run_id = (SELECT run_id FROM"
        + " inbound WHERE platform_message_id = '" + pmid + "')")).isEqualTo(1);
  }

  /** In the whole workspace: exactly {@code n} messages stored and {@code n} turns run. */
  void assertStoredAndRun(long n) {
    assertThat(count("SELECT COUNT(*) FROM inbound")).isEqualTo(n);
    assertThat(count("SELECT COUNT(*) FROM session_events WHERE type = 'agent_start'")).isEqualTo(n);
  }

  void awaitDelivered(String runId) {
    TestDatabases.awaitDelivered(db, schema(), runId);
  }

  /** The reply a run stored. */
  String stored(String runId) {
    return new JsonObject((String) scalar("SELECT payload FROM session_events WHERE type = 'text_final' AND run_id = '"
        + runId + "'")).getString("text");
  }

  /** The status an account reports (channels.telegram.<account>.status). */
  JsonObject status(Vertx vertx, String account) {
    try {
      return vertx.eventBus().<JsonObject>request("ws." + workspace + ".channels.telegram." + account + ".status",
          new JsonObject()).await(10, TimeUnit.SECONDS).body();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Waits (bounded at 30 s, polling) until the account's status matches; returns it. */
  JsonObject awaitStatus(Vertx vertx, String account, java.util.function.Predicate<JsonObject> p) {
    JsonObject[] last = {null};
    return Poll.until("the status of " + account + " to match", Duration.ofSeconds(30), () -> {
      last[0] = status(vertx, account);
      return p.test(last[0]) ? last[0] : null;
    }, () -> last[0]);
  }


  @Override
  public void close() {
    gateway.close();
  }
}
