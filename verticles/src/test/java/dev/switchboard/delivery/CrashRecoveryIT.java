package dev.switchboard.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.CallbackReceiver;
import dev.switchboard.support.GatewayProcess;
import dev.switchboard.support.ScriptedOpenAiServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * D2 with a real crash: the packaged gateway runs as a child process and is killed with SIGKILL at
 * the worst moments. The model (scripted OpenAI server) and the platform (HTTP channel callback
 * receiver) live in this JVM, so what the model was asked and what the user saw survive the kill.
 */
@Timeout(240)
class CrashRecoveryIT {
  static final String SECRET = "crash-test-secret-0001";
  Vertx vertx;
  ScriptedOpenAiServer model;
  CallbackReceiver receiver;
  Path root;
  int port;

  @BeforeEach
  void start(@TempDir Path tmp) throws Exception {
    vertx = Vertx.vertx();
    model = new ScriptedOpenAiServer(vertx).start();
    receiver = new CallbackReceiver(vertx, SECRET);
    root = tmp;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    JsonArray accounts = new JsonArray();
    for (String id : List.of("checks", "blind", "edits")) {
      accounts.add(new JsonObject().put("id", id).put("secret", SECRET).put("callbackUrl", receiver.url())
          .put("dmPolicy", "open").put("reconcile", !id.equals("blind")).put("edits", id.equals("edits"))
          .put("timeoutMs", 120_000));
    }
    JsonObject ws = new JsonObject().put("port", port)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl()).put("apiKey", "sk-crash"))))
        .put("channels", new JsonObject().put("http", new JsonObject().put("accounts", accounts)));
    Files.createDirectories(root.resolve("workspaces/w"));
    Files.writeString(root.resolve("workspaces/w/workspace.json"), ws.encodePrettily());
  }

  @AfterEach
  void stop() throws Exception {
    receiver.close();
    model.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  GatewayProcess gateway() throws Exception {
    return GatewayProcess.start(root, Map.of("SWITCHBOARD_TOKEN", "crash-operator-token-0001"), Duration.ofSeconds(60), 1);
  }

  JsonObject post(String account, String id, String chat, String text) throws Exception {
    JsonObject m = new JsonObject().put("messageId", id).put("chat", new JsonObject().put("id", chat))
        .put("sender", new JsonObject().put("id", "u")).put("text", text);
    JsonObject r = CallbackReceiver.post(vertx, port, account, SECRET, m);
    assertThat(r.getInteger("status")).isEqualTo(202);
    return new JsonObject(r.getString("body"));
  }

  long modelTurns(String token) {
    return model.requests().stream().filter(r -> r.conversation().lastUserTextValue().contains(token)).count();
  }

  @Test
  @DisplayName("killed after the model answered but before the send: after restart the reply arrives once, the model is not asked again")
  void killedBeforeTheSend() throws Exception {
    receiver.refuseAll(503);
    try (GatewayProcess gw = gateway()) {
      post("checks", "k1", "chat-1", "hello [in:K1]");
      // the model answered and delivery has tried (and failed) to send: the reply is owed
      receiver.awaitCall(c -> c.getString("text", "").contains("K1")); // a send was tried
      gw.kill();
    }
    assertThat(receiver.chat("chat-1")).isEmpty();
    receiver.refuseAll(0);
    try (GatewayProcess gw = gateway()) {
      receiver.awaitText("chat-1", "<<end-K1>>");
      post("checks", "k2", "chat-1", "barrier [in:K2]");
      receiver.awaitText("chat-1", "<<end-K2>>");
      gw.terminate(Duration.ofSeconds(30));
    }
    assertThat(receiver.chat("chat-1").stream().filter(m -> m.getString("text").contains("K1"))).hasSize(1);
    assertThat(modelTurns("[in:K1]")).isEqualTo(1);
  }

  @Test
  @DisplayName("killed while the platform held the send without acting on it: after restart it is checked, then sent once;"
      + " the model is not asked again")
  void killedWhileTheSendWasNeverTaken() throws Exception {
    receiver.swallow(true);
    try (GatewayProcess gw = gateway()) {
      post("checks", "s1", "chat-4", "hello [in:S1]");
      // the reply is committed and its send is on the wire, but the platform never acts on it
      receiver.awaitCall(c -> "send".equals(c.getString("op")) && c.getString("text", "").contains("<<end-S1>>"));
      gw.kill();
    }
    assertThat(receiver.chat("chat-4")).isEmpty();
    receiver.swallow(false);
    try (GatewayProcess gw = gateway()) {
      receiver.awaitText("chat-4", "<<end-S1>>");
      post("checks", "s2", "chat-4", "barrier [in:S2]");
      receiver.awaitText("chat-4", "<<end-S2>>");
      gw.terminate(Duration.ofSeconds(30));
    }
    List<JsonObject> copies = receiver.chat("chat-4").stream().filter(m -> m.getString("text").contains("S1")).toList();
    assertThat(copies).hasSize(1);
    assertThat(copies.get(0).getString("text")).doesNotStartWith(ChannelOutlet.DUPLICATE_MARKER);
    String obligation = copies.get(0).getString("obligationId");
    // the restarted gateway asked whether the first send had arrived before it sent again
    List<String> ops = receiver.calls().stream().filter(c -> obligation.equals(c.getString("obligationId")))
        .map(c -> c.getString("op")).toList();
    assertThat(ops).containsExactly("send", "reconcile", "send");
    assertThat(modelTurns("[in:S1]")).isEqualTo(1);
  }

  @Test
  @DisplayName("killed while a streamed reply's final edit was owed: after restart the final edits the stored preview,"
      + " no second copy, no second model call")
  void killedWhileTheFinalEditWasOwed() throws Exception {
    model.streamDelayMs(20); // the reply streams for about a second: the preview exists before the final
    Predicate<JsonObject> finalEdit = c -> "edit".equals(c.getString("op"))
        && !c.getBoolean("preview", false) && c.getString("text", "").contains("<<end-E1>>");
    receiver.refuseWhen(finalEdit, 503);
    JsonObject preview;
    int refused;
    try (GatewayProcess gw = gateway()) {
      post("edits", "e1", "chat-5", "hello [in:E1] [pad:200]");
      preview = receiver.awaitCall(c -> "send".equals(c.getString("op")) && c.getBoolean("preview", false));
      // the final was committed and its edit of the preview was tried and refused: the final is owed
      receiver.awaitCall(finalEdit);
      gw.kill();
      refused = receiver.calls().stream().filter(finalEdit).toList().size();
    }
    // only the preview is shown (its last edit may already show all the streamed text)
    List<JsonObject> before = receiver.chat("chat-5");
    assertThat(before).hasSize(1);
    String previewId = before.get(0).getString("id");
    receiver.refuseWhen(null, 0);
    try (GatewayProcess gw = gateway()) {
      // the restarted gateway makes the final edit, this time accepted
      List<JsonObject> finals = receiver.awaitCalls(finalEdit, refused + 1);
      assertThat(finals.get(refused).getString("messageId")).isEqualTo(previewId);
      assertThat(finals.get(refused).getString("runId")).isEqualTo(preview.getString("runId"));
      post("edits", "e2", "chat-5", "barrier [in:E2]");
      receiver.awaitText("chat-5", "<<end-E2>>");
      gw.terminate(Duration.ofSeconds(30));
    }
    List<JsonObject> copies = receiver.chat("chat-5").stream().filter(m -> m.getString("text").contains("E1")).toList();
    assertThat(copies).hasSize(1);
    assertThat(copies.get(0).getString("id")).isEqualTo(previewId);
    assertThat(copies.get(0).getString("text")).startsWith("<<E1>>").endsWith("<<end-E1>>");
    // the final never went out as a message of its own
    assertThat(receiver.calls().stream().filter(c -> "send".equals(c.getString("op")) && !c.getBoolean("preview", false)
        && c.getString("text", "").contains("E1"))).isEmpty();
    assertThat(modelTurns("[in:E1]")).isEqualTo(1);
  }

  @Test
  @DisplayName("killed after the platform showed the reply but before the ack was recorded: reconciled, never shown twice")
  void killedAfterTheSendWithReconcile() throws Exception {
    receiver.holdResponses(true);
    try (GatewayProcess gw = gateway()) {
      post("checks", "a1", "chat-2", "hello [in:A1]");
      receiver.awaitText("chat-2", "<<end-A1>>");
      gw.kill();
    }
    receiver.holdResponses(false);
    try (GatewayProcess gw = gateway()) {
      post("checks", "a2", "chat-2", "barrier [in:A2]");
      receiver.awaitText("chat-2", "<<end-A2>>");
      // the interrupted obligation asked the platform before doing anything else
      receiver.awaitCall(c -> "reconcile".equals(c.getString("op")));
      gw.terminate(Duration.ofSeconds(30));
    }
    assertThat(receiver.chat("chat-2").stream().filter(m -> m.getString("text").contains("A1"))).hasSize(1);
    assertThat(modelTurns("[in:A1]")).isEqualTo(1);
  }

  @Test
  @DisplayName("the same crash on a platform that cannot check: at most one extra copy, and it carries the marker")
  void killedAfterTheSendWithoutReconcile() throws Exception {
    receiver.holdResponses(true);
    try (GatewayProcess gw = gateway()) {
      post("blind", "b1", "chat-3", "hello [in:C1]");
      receiver.awaitText("chat-3", "<<end-C1>>");
      gw.kill();
    }
    receiver.holdResponses(false);
    try (GatewayProcess gw = gateway()) {
      receiver.awaitText("chat-3", ChannelOutlet.DUPLICATE_MARKER);
      post("blind", "b2", "chat-3", "barrier [in:C2]");
      receiver.awaitText("chat-3", "<<end-C2>>");
      gw.terminate(Duration.ofSeconds(30));
    }
    List<JsonObject> copies = receiver.chat("chat-3").stream().filter(m -> m.getString("text").contains("C1")).toList();
    assertThat(copies).hasSize(2);
    assertThat(copies.get(0).getString("text")).doesNotStartWith(ChannelOutlet.DUPLICATE_MARKER);
    assertThat(copies.get(1).getString("text")).startsWith(ChannelOutlet.DUPLICATE_MARKER);
    assertThat(modelTurns("[in:C1]")).isEqualTo(1);
  }
}
