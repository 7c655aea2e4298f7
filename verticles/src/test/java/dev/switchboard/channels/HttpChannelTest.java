package dev.switchboard.channels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.channels.http.HttpChannelVerticle;
import dev.switchboard.config.Secret;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.CallbackReceiver;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP channel end to end: a signed webhook in, a signed callback out, forgeries refused. */
@Timeout(90)
class HttpChannelTest {
  static final String SECRET = "s3cret-s3cret-s3cret";
  static Vertx vertx;
  static TestGateway gateway;
  static DatabaseConfig db;
  static CallbackReceiver receiver;
  static int port;

  @BeforeAll
  static void start(@TempDir Path root) throws Exception {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    receiver = new CallbackReceiver(vertx, SECRET);
    JsonObject account = new JsonObject().put("id", "bridge").put("secret", SECRET).put("callbackUrl", receiver.url())
        .put("dmPolicy", "open").put("maxChars", 64).put("reconcile", true).put("timeoutMs", 1500);
    gateway = TestGateway.in(vertx, root, db).workspace("w", TestGateway.echoWorkspace()
        .put("channels", new JsonObject().put("http", new JsonObject().put("accounts", new JsonArray().add(account)))))
        .start();
    port = gateway.port("w");
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    receiver.close();
    TestDatabases.dropSchemas(db);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static JsonObject message(String id, String chat, String text) {
    return new JsonObject().put("messageId", id).put("chat", new JsonObject().put("id", chat))
        .put("sender", new JsonObject().put("id", "u-" + chat).put("name", "user")).put("text", text);
  }

  static long inbound() {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM inbound")).longValue();
  }

  @Test
  @DisplayName("a signed message is accepted (202), answered through the signed callback, split to the account's limit")
  void roundTrip() throws Exception {
    JsonObject r = CallbackReceiver.post(vertx, port, "bridge", SECRET,
        message("h-1", "c1", "a reply long enough to be split into more than one piece [in:H1]"));
    assertThat(r.getInteger("status")).isEqualTo(202);
    assertThat(new JsonObject(r.getString("body")).getString("status")).isEqualTo("started");
    receiver.awaitText("c1", "[in:H1]");
    String joined = String.join("", receiver.chat("c1").stream().map(m -> m.getString("text")).toList());
    assertThat(joined).isEqualTo("echo: a reply long enough to be split into more than one piece [in:H1]");
    assertThat(receiver.chat("c1")).hasSizeGreaterThanOrEqualTo(2).allSatisfy(m -> assertThat(m.getString("text").length())
        .isLessThanOrEqualTo(64));
    assertThat(receiver.badSignatures()).isZero();
  }

  @Test
  @DisplayName("a forged, stale or unsigned webhook is refused with 401 and nothing is stored")
  void forgeries() throws Exception {
    long before = inbound();
    String body = message("h-forged", "c2", "let me in").encode();
    WebClient web = WebClient.create(vertx);
    long now = System.currentTimeMillis() / 1000;
    var wrongKey = web.post(port, "127.0.0.1", "/channels/http/bridge/messages")
        .putHeader("X-Switchboard-Timestamp", Long.toString(now))
        .putHeader("X-Switchboard-Signature", HttpChannelVerticle.sign(Secret.of("another-secret-123", "t"), now, body))
        .sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
    var stale = web.post(port, "127.0.0.1", "/channels/http/bridge/messages")
        .putHeader("X-Switchboard-Timestamp", Long.toString(now - 3600))
        .putHeader("X-Switchboard-Signature", HttpChannelVerticle.sign(Secret.of(SECRET, "t"), now - 3600, body))
        .sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
    var unsigned = web.post(port, "127.0.0.1", "/channels/http/bridge/messages").sendBuffer(Buffer.buffer(body))
        .await(10, TimeUnit.SECONDS);
    var unknownAccount = web.post(port, "127.0.0.1", "/channels/http/nobody/messages").sendBuffer(Buffer.buffer(body))
        .await(10, TimeUnit.SECONDS);
    web.close();
    assertThat(wrongKey.statusCode()).isEqualTo(401);
    assertThat(wrongKey.bodyAsJsonObject().getString("error")).isEqualTo("bad signature");
    assertThat(stale.statusCode()).isEqualTo(401);
    assertThat(unsigned.statusCode()).isEqualTo(401);
    assertThat(unknownAccount.statusCode()).isEqualTo(404);
    assertThat(inbound()).isEqualTo(before);
  }

  @Test
  @DisplayName("malformed messages get 400 with the reason; the same messageId twice is one turn and one reply")
  void malformedAndReplayed() throws Exception {
    assertThat(CallbackReceiver.post(vertx, port, "bridge", SECRET, new JsonObject().put("text", "no id"))
        .getInteger("status")).isEqualTo(400);
    JsonObject first = CallbackReceiver.post(vertx, port, "bridge", SECRET, message("h-3", "c3", "once [in:H3]"));
    JsonObject again = CallbackReceiver.post(vertx, port, "bridge", SECRET, message("h-3", "c3", "once [in:H3]"));
    assertThat(new JsonObject(again.getString("body")).getBoolean("duplicate")).isTrue();
    assertThat(first.getInteger("status")).isEqualTo(202);
    receiver.awaitText("c3", "[in:H3]");
    CallbackReceiver.post(vertx, port, "bridge", SECRET, message("h-4", "c3", "barrier [in:H4]"));
    receiver.awaitText("c3", "[in:H4]");
    assertThat(receiver.chat("c3").stream().filter(m -> m.getString("text").contains("[in:H3]"))).hasSize(1);
  }

  @Test
  @DisplayName("rate limits and server errors from the callback are retried; a response that never comes is reconciled")
  void callbackFaults() throws Exception {
    receiver.inject(429, 503, 1);
    JsonObject r = CallbackReceiver.post(vertx, port, "bridge", SECRET, message("h-5", "c5", "retry me [in:H5]"));
    TestDatabases.awaitDelivered(db, db.workspaceSchema("w"), new JsonObject(r.getString("body")).getString("runId"));
    assertThat(receiver.chat("c5").stream().filter(m -> m.getString("text").contains("[in:H5]"))).hasSize(1);
    assertThat(receiver.calls().stream().filter(c -> "reconcile".equals(c.getString("op")))).isNotEmpty();
  }

  @Test
  @DisplayName("an account without secret or callback stops its workspace with the key paths")
  void configProblems(@TempDir Path root) {
    JsonObject bad = new JsonObject().put("id", "x").put("callbackUrl", "ftp://nope");
    DatabaseConfig other = TestDatabases.h2();
    try (TestGateway gw = TestGateway.in(vertx, root, other)
        .workspace("ok", TestGateway.echoWorkspace())
        .workspace("broken", TestGateway.echoWorkspace().put("channels", new JsonObject().put("http",
            new JsonObject().put("accounts", new JsonArray().add(bad)))))
        .start()) {
      var problems = gw.gateway().failed().get(0).problems().stream().map(Object::toString).toList();
      assertThat(problems).anyMatch(p -> p.endsWith("channels.http.accounts[0].secret: is required (both directions are signed with it)"));
      assertThat(problems).anyMatch(p -> p.contains("channels.http.accounts[0].callbackUrl: must be an http:// or https:// URL"));
    } finally {
      TestDatabases.dropSchemas(other);
    }
  }
}
