package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.channels.telegram.TelegramFixture.Mode;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.Formatter;
import dev.switchboard.routing.Pairing;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.LogCapture;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.ScriptedModelServer;
import dev.switchboard.support.ScriptedOpenAiServer;
import dev.switchboard.support.TelegramHtml;
import dev.switchboard.support.TelegramStandIn;
import dev.switchboard.support.TelegramStandIn.Bot;
import dev.switchboard.support.TelegramStandIn.Fault;
import dev.switchboard.support.TelegramStandIn.Incoming;
import dev.switchboard.support.TelegramStandIn.Shown;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The behaviours users rely on (BEHAVIOURS.md C1, C7, C8, C9, D1, D3, R2–R5), over Telegram, in
 * both transports: long polling and webhooks. One gateway per mode against the Bot API stand-in;
 * every test writes in chats of its own, and counts what those chats show exactly.
 */
@Timeout(180)
class TelegramChannelTest {
  static final Pattern CODE = Pattern.compile("\\b([" + Pairing.ALPHABET + "]{8})\\b");
  static final long OWNER = 900;
  static Vertx vertx;
  static TelegramStandIn api;
  /** The BEHAVIOURS harness model: answers [in:T] with <<T>> ok <<end-T>>, [say:x] with exactly x. */
  static ScriptedOpenAiServer model;
  static Path root;
  static final Map<Mode, TelegramFixture> fixtures = new EnumMap<>(Mode.class);
  static final Map<Mode, TelegramFixture> quietFixtures = new EnumMap<>(Mode.class);
  static final Map<Mode, Map<String, Bot>> bots = new EnumMap<>(Mode.class);
  static final long R4_GROUP = -100_401;
  static final long R5_GROUP = -100_501;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    api = new TelegramStandIn(vertx);
    model = new ScriptedOpenAiServer(vertx).start();
    root = Files.createTempDirectory("telegram-test");
  }

  @AfterAll
  static void stop() throws Exception {
    for (TelegramFixture f : fixtures.values()) {
      f.close(); // the gateway of its mode, quiet workspace included
      TestDatabases.dropSchemas(f.db);
    }
    api.close();
    model.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /**
   * The gateway for a mode, started on first use: workspace {@code tg<n>} with most bots, and
   * {@code tg<n>q} whose bot's group talk is never context for a later turn
   * ({@code session.unmentionedContext: false}).
   */
  static synchronized TelegramFixture gateway(Mode mode) {
    return fixtures.computeIfAbsent(mode, m -> {
      int port = m == Mode.WEBHOOK ? TelegramFixture.freePort() : 0;
      int quietPort = m == Mode.WEBHOOK ? TelegramFixture.freePort() : 0;
      int base = m == Mode.POLLING ? 7100 : 7200;
      Map<String, Bot> b = new java.util.LinkedHashMap<>();
      for (String id : List.of("main", "flat", "pair", "pairlist", "quiet")) {
        b.put(id, api.bot((base + b.size()) + ":AA" + id + "-" + m.name().toLowerCase(), base + b.size(), id + "_bot"));
      }
      bots.put(m, b);
      JsonArray allowed = new JsonArray();
      IntStream.rangeClosed(100, 199).forEach(i -> allowed.add(String.valueOf(i)));
      JsonArray accounts = new JsonArray()
          .add(TelegramFixture.account(m, "main", b.get("main"), api, port).put("dmPolicy", "allowlist")
              .put("allowFrom", allowed).put("groupPolicy", "open").put("replyToMode", "first"))
          .add(TelegramFixture.account(m, "flat", b.get("flat"), api, port).put("dmPolicy", "open")
              .put("streaming", false))
          .add(TelegramFixture.account(m, "pair", b.get("pair"), api, port).put("dmPolicy", "pairing"))
          .add(TelegramFixture.account(m, "pairlist", b.get("pairlist"), api, port).put("dmPolicy", "pairing")
              .put("allowFrom", new JsonArray().add("601")));
      // users 112 and 118 talk to an agent that streams without pauses (a long echo would take long
      // otherwise); users 111 and 125 and groups R4 and R5 to the scripted model, whose prompts are recorded
      JsonObject ws = TelegramFixture.workspace(port, accounts)
          .put("bindings", new JsonArray().add(peerBinding("fast", "direct", "112")).add(peerBinding("fast", "direct", "118"))
              .add(peerBinding("scripted", "direct", "111"))
              .add(peerBinding("scripted", "direct", "125"))
              .add(peerBinding("scripted", "direct", "126"))
              .add(peerBinding("scripted", "direct", "127"))
              .add(peerBinding("scripted", "group", String.valueOf(R4_GROUP)))
              .add(peerBinding("scripted", "group", String.valueOf(R5_GROUP))))
          .put("owners", new JsonArray().add("telegram:" + OWNER))
          .put("session", new JsonObject().put("groupScope", "per-member"));
      ws.getJsonArray("agents").add(scriptedAgent(false));
      JsonObject quiet = new JsonObject().put("port", quietPort)
          .put("agents", new JsonArray().add(scriptedAgent(true)))
          .put("channels", new JsonObject().put("telegram", new JsonObject().put("accounts", new JsonArray()
              .add(TelegramFixture.account(m, "quiet", b.get("quiet"), api, quietPort).put("groupPolicy", "open")))))
          .put("session", new JsonObject().put("unmentionedContext", false));
      DatabaseConfig db = TestDatabases.h2();
      String id = "tg" + m.ordinal();
      TestGateway gw = TestGateway.in(vertx, root.resolve(m.name()), db).workspace(id, ws).workspace(id + "q", quiet)
          .start();
      if (!gw.gateway().failed().isEmpty()) {
        throw new IllegalStateException("workspace did not start: " + gw.gateway().failed().get(0).problems());
      }
      quietFixtures.put(m, new TelegramFixture(gw, api, db, id + "q", m));
      if (m == Mode.WEBHOOK) {
        b.values().forEach(bot -> api.await(() -> bot.webhookUrl() != null, () -> "webhook of " + bot.username + " not set"));
      }
      return new TelegramFixture(gw, api, db, id, m);
    });
  }

  static JsonObject scriptedAgent(boolean isDefault) {
    return new JsonObject().put("id", "scripted").put("default", isDefault).put("model", new JsonObject()
        .put("provider", "openai").put("model", "gpt-test").put("baseUrl", model.baseUrl()).put("apiKey", "sk-test"));
  }

  static JsonObject peerBinding(String agent, String kind, String peer) {
    return new JsonObject().put("agentId", agent).put("match", new JsonObject().put("channel", "telegram")
        .put("peer", new JsonObject().put("kind", kind).put("id", peer)));
  }

  /** The one prompt the scripted model got for a token (in the last user message); fails unless exactly one. */
  static ScriptedModelServer.Conversation prompt(String token) {
    List<ScriptedModelServer.Conversation> found = model.requests().stream().map(ScriptedModelServer.Recorded::conversation)
        .filter(c -> c.lastUserTextValue().contains("[in:" + token + "]")).toList();
    assertThat(found).as("model calls for [in:%s]", token).hasSize(1);
    return found.get(0);
  }

  static Bot bot(Mode mode, String account) {
    gateway(mode);
    return bots.get(mode).get(account);
  }

  /** Visible text of a reply: what Telegram shows for the stored Markdown. */
  static String visible(String stored) {
    return Formatter.format(stored, "plain");
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("C1: an allowed user's DM gets exactly one complete reply, quoting the message; one turn; one user and one assistant message")
  void c1(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String token = "T1" + mode.name().charAt(0);
    JsonObject update = bot.receive(Incoming.dm(111, "Alice", "hello [in:" + token + "]"));
    String runId = f.runOf("main", update);
    f.awaitDelivered(runId);
    List<Shown> replies = bot.botMessages(111);
    assertThat(replies).hasSize(1);
    assertThat(replies.get(0).text()).isEqualTo("<<" + token + ">> ok <<end-" + token + ">>")
        .isEqualTo(visible(f.stored(runId)));
    assertThat(replies.get(0).replyToMessageId).isEqualTo(update.getJsonObject("message").getLong("message_id"));
    // the model saw exactly one turn for the token
    assertThat(model.requests().stream().filter(r -> r.conversation().lastUserTextValue().contains("[in:" + token + "]")))
        .hasSize(1);
    String session = (String) f.scalar("SELECT session_id FROM inbound WHERE run_id = '" + runId + "'");
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE session_id = '" + session + "' AND type = 'user_message'"))
        .isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE session_id = '" + session + "' AND type = 'text_final'"))
        .isEqualTo(1);
    assertThat(f.scalar("SELECT session_key FROM inbound WHERE run_id = '" + runId + "'"))
        .isEqualTo("agent:scripted:telegram:direct:111");
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("C7: a reply 2.4x Telegram's cap arrives as several messages within 4,096 characters, the code block whole in one")
  void c7(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String code = "```java\n" + "int x = 1; // keep this block together\n".repeat(20) + "```\n";
    StringBuilder text = new StringBuilder();
    for (int paragraph = 0; text.length() < 2.4 * TelegramChannelVerticle.MAX_CHARS; paragraph++) {
      text.append("Paragraph ").append(paragraph).append(" has several plain sentences. ".repeat(6)).append("\n\n");
      if (paragraph == 20) {
        text.append(code).append('\n');
      }
    }
    text.append("[in:T7]");
    JsonObject update = bot.receive(Incoming.dm(112, "Bob", text.toString()));
    String runId = f.runOf("main", update);
    f.awaitDelivered(runId);
    String stored = f.stored(runId);
    assertThat(stored.length()).isGreaterThan((int) (2.4 * TelegramChannelVerticle.MAX_CHARS));
    List<Shown> replies = bot.botMessages(112);
    assertThat(replies).hasSizeGreaterThanOrEqualTo(3)
        .allSatisfy(s -> assertThat(s.text().length()).isLessThanOrEqualTo(TelegramChannelVerticle.MAX_CHARS));
    assertThat(String.join("", replies.stream().map(Shown::text).toList())).isEqualTo(visible(stored));
    String block = "int x = 1; // keep this block together\n".repeat(20).strip();
    List<Shown> withCode = replies.stream().filter(s -> s.entities().stream().anyMatch(e -> e.type().equals("pre"))).toList();
    assertThat(withCode).hasSize(1);
    TelegramHtml.Entity pre = withCode.get(0).entities().stream().filter(e -> e.type().equals("pre")).findFirst().orElseThrow();
    assertThat(withCode.get(0).text().substring(pre.offset(), pre.offset() + pre.length())).isEqualTo(block);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("C8: a streamed reply is one message, created then edited at most once per throttle, ending with the stored text")
  void c8(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String words = "stream these words one pair at a time so the preview grows while the model writes ".repeat(3);
    JsonObject update = bot.receive(Incoming.dm(113, "Carol", words + "[in:T8]"));
    String runId = f.runOf("main", update);
    f.awaitDelivered(runId);
    List<Shown> replies = bot.botMessages(113);
    assertThat(replies).hasSize(1);
    Shown reply = replies.get(0);
    assertThat(reply.versions()).hasSizeGreaterThanOrEqualTo(3);
    assertThat(reply.text()).isEqualTo(visible(f.stored(runId)));
    // previews: at least the throttle apart (the final edit is not held back)
    List<Long> times = reply.times();
    for (int i = 1; i < times.size() - 1; i++) {
      assertThat(times.get(i) - times.get(i - 1)).isGreaterThanOrEqualTo(240);
    }

    Bot flat = bot(mode, "flat");
    JsonObject once = flat.receive(Incoming.dm(114, "Dan", words + "[in:T8b]"));
    String flatRun = f.runOf("flat", once);
    f.awaitDelivered(flatRun);
    assertThat(flat.botMessages(114)).hasSize(1).allSatisfy(s -> assertThat(s.versions()).hasSize(1));
    assertThat(flat.calls("editMessageText")).noneMatch(c -> c.params().getLong("chat_id") == 114);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("C9: a silence marker with text sends only the text, and the marker never flashes in a preview")
  void c9(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    JsonObject update = bot.receive(Incoming.dm(115, "Eve", "<NO_REPLY> but here is some text that streams [in:T9]"));
    String runId = f.runOf("main", update);
    f.awaitDelivered(runId);
    assertThat(bot.botMessages(115)).hasSize(1);
    assertThat(bot.chat(115).stream().filter(s -> s.fromBot))
        .allSatisfy(s -> assertThat(s.versions()).noneMatch(v -> v.contains("<NO") || v.contains("REPLY>")));
    assertThat(bot.botMessages(115).get(0).text()).isEqualTo(visible(f.stored(runId))).doesNotContain("NO_REPLY");

    // a reply that is only a marker: stored, nothing sent (settled by the next reply in that chat)
    String silent = f.runOf("main", bot.receive(Incoming.dm(125, "Fay", "[say:<NO_REPLY>] [in:C9s]")));
    String barrier = f.runOf("main", bot.receive(Incoming.dm(125, "Fay", "barrier [in:C9b]")));
    f.awaitDelivered(barrier);
    assertThat(bot.chat(125).stream().filter(s -> s.fromBot)).extracting(Shown::text)
        .containsExactly("<<C9b>> ok <<end-C9b>>");
    assertThat(f.stored(silent)).isEmpty();
    assertThat(f.count("SELECT COUNT(*) FROM outbox WHERE run_id = '" + silent + "'")).isZero();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("D1: 429 with retry_after on the final send: the gateway waits as told, retries, one visible copy, delivered")
  void d1(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot flat = bot(mode, "flat");
    flat.inject(c -> c.method().equals("sendMessage") && c.params().getLong("chat_id") == 116, Fault.tooManyRequests(1));
    JsonObject update = flat.receive(Incoming.dm(116, "Fay", "limited [in:D1]"));
    String runId = f.runOf("flat", update);
    f.awaitDelivered(runId);
    assertThat(flat.botMessages(116)).hasSize(1).first().extracting(Shown::text).isEqualTo("echo: limited [in:D1]");
    List<TelegramStandIn.Call> sends = flat.calls("sendMessage").stream()
        .filter(c -> c.params().getLong("chat_id") == 116).toList();
    assertThat(sends).hasSize(2);
    assertThat(sends.get(1).at() - sends.get(0).at()).isGreaterThanOrEqualTo(1_000);

    // streamed: the rate limit hits an edit; the final still lands once, in the one message
    Bot main = bot(mode, "main");
    main.inject(c -> c.method().equals("editMessageText") && c.params().getLong("chat_id") == 117,
        Fault.tooManyRequests(1));
    JsonObject streamed = main.receive(Incoming.dm(117, "Gus", "a streamed reply that runs into the limit [in:D1b]"));
    String streamedRun = f.runOf("main", streamed);
    f.awaitDelivered(streamedRun);
    assertThat(main.botMessages(117)).hasSize(1).first().extracting(Shown::text)
        .isEqualTo(visible(f.stored(streamedRun)));
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("D1: Telegram unreachable on the final send (connection refused): not sent, retried, exactly one unmarked copy, delivered")
  void d1Refused(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot flat = bot(mode, "flat");
    String token = "D1r" + mode.name().charAt(0);
    Promise<Void> gate = ScriptedModelServer.gate();
    model.enqueue(new ScriptedModelServer.Gate(gate.future()));
    int asked = model.requests().size();
    LogCapture logs = LogCapture.start();
    String run;
    try {
      run = f.runOf("flat", flat.receive(Incoming.dm(126, "Ria", "refused [in:" + token + "]")));
      model.awaitRequests(asked + 1, Duration.ofSeconds(30)); // the turn runs, its answer held back
      api.refuseConnections();
      try {
        gate.complete();
        // the first attempt could not connect: nothing left the gateway
        TestDatabases.awaitValue(f.db, f.schema(), "SELECT COUNT(*) FROM outbox WHERE run_id = '" + run
            + "' AND status = 'pending' AND attempts >= 1 AND last_error LIKE '%refused%'", 1L);
      } finally {
        api.acceptConnections();
      }
      f.awaitDelivered(run);
    } finally {
      logs.close();
    }
    assertThat(flat.botMessages(126)).extracting(Shown::text).containsExactly("<<" + token + ">> ok <<end-" + token + ">>");
    assertThat(flat.calls("sendMessage").stream().filter(c -> c.params().getLong("chat_id") == 126)).hasSize(1);
    assertNeverLogged(logs, "attempt 1 failed", flat.token);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("D1/D2: a reset or a timeout after Telegram read the final send is an unknown outcome: resent once, marked, never a third copy")
  void resets(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot flat = bot(mode, "flat");
    // read, then reset before it took effect: the gateway cannot tell, so the user sees one copy,
    // marked; a full-size chunk still fits under the 4,096 cap with the marker
    flat.inject(c -> c.method().equals("sendMessage") && c.params().getLong("chat_id") == 118, Fault.resetBefore());
    flat.inject(c -> c.method().equals("sendMessage") && c.params().getLong("chat_id") == 119, Fault.resetAfter());
    flat.inject(c -> c.method().equals("sendMessage") && c.params().getLong("chat_id") == 128, Fault.timeoutAfter());
    LogCapture logs = LogCapture.start();
    String before;
    String after;
    String timedOut;
    try {
      before = f.runOf("flat", flat.receive(Incoming.dm(118, "Hal", "reset before ".repeat(400) + "[in:R1]")));
      after = f.runOf("flat", flat.receive(Incoming.dm(119, "Ida", "reset after [in:R2]")));
      timedOut = f.runOf("flat", flat.receive(Incoming.dm(128, "Tom", "timed out [in:R3]")));
      f.awaitDelivered(before);
      f.awaitDelivered(after);
      f.awaitDelivered(timedOut);
    } finally {
      logs.close();
    }
    // Vert.x names the request (its URL holds the token) when a call times out: that is logged
    assertNeverLogged(logs, "timeout period", flat.token);
    assertThat(flat.botMessages(128)).extracting(Shown::text)
        .containsExactly("echo: timed out [in:R3]", ChannelOutlet.DUPLICATE_MARKER + "echo: timed out [in:R3]");
    List<Shown> shown = flat.botMessages(118);
    assertThat(shown).hasSize(2).allSatisfy(s -> assertThat(s.text().length()).isLessThanOrEqualTo(4096));
    assertThat(shown.get(0).text()).startsWith(ChannelOutlet.DUPLICATE_MARKER);
    assertThat(shown.get(0).text().length()).isGreaterThan(4000);
    assertThat(shown.get(1).text()).doesNotStartWith(ChannelOutlet.DUPLICATE_MARKER);
    assertThat(shown.get(0).text().substring(ChannelOutlet.DUPLICATE_MARKER.length()) + shown.get(1).text())
        .isEqualTo(visible(f.stored(before)));
    // the reset came after Telegram showed it: at most one extra copy, and it carries the marker
    assertThat(flat.botMessages(119)).extracting(Shown::text)
        .containsExactly("echo: reset after [in:R2]", ChannelOutlet.DUPLICATE_MARKER + "echo: reset after [in:R2]");
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("D1: the final edit of a streamed reply hits a reset: edited again, one message, the whole text, no marker")
  void d1FinalEditReset(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot main = bot(mode, "main");
    String token = "D1e" + mode.name().charAt(0);
    String end = "&lt;&lt;end-" + token + "&gt;&gt;";
    // every edit carrying the whole text is reset after it took effect, twice: whether the last
    // preview already showed the whole text or not, the final edit is one of them
    for (int i = 0; i < 2; i++) {
      main.inject(c -> c.method().equals("editMessageText") && c.params().getLong("chat_id") == 127
          && c.params().getString("text", "").contains(end), Fault.resetAfter());
    }
    model.streamDelayMs(20); // previews before the end, for certain
    LogCapture logs = LogCapture.start();
    String run;
    try {
      run = f.runOf("main", main.receive(Incoming.dm(127, "Sol", "stream a while [pad:200] [in:" + token + "]")));
      f.awaitDelivered(run);
    } finally {
      logs.close();
      model.streamDelayMs(0);
    }
    assertNeverLogged(logs, "attempt 1 failed", main.token);
    List<Shown> shown = main.botMessages(127);
    assertThat(shown).hasSize(1);
    assertThat(shown.get(0).text()).isEqualTo(visible(f.stored(run))).endsWith("<<end-" + token + ">>");
    assertThat(shown.get(0).versions()).hasSizeGreaterThanOrEqualTo(2)
        .noneMatch(v -> v.contains(ChannelOutlet.DUPLICATE_MARKER.strip()));
    assertThat(main.calls("editMessageText").stream().filter(c -> c.params().getLong("chat_id") == 127
        && c.params().getString("text", "").contains(end))).hasSizeGreaterThanOrEqualTo(3);
    assertThat(main.calls("sendMessage").stream().filter(c -> c.params().getLong("chat_id") == 127)).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("D3: the same message delivered again (a webhook retry, under a new update id) is one stored message, one turn, one reply")
  void d3(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    JsonObject update = bot.receive(Incoming.dm(120, "Jo", "only once [in:D3]"));
    String runId = f.runOf("main", update);
    f.awaitDelivered(runId);
    if (mode == Mode.WEBHOOK) {
      // Telegram retries an update it saw no 2xx for: the stored copy answers it
      assertThat(bot.redeliver(update)).isEqualTo(200);
    }
    // the same chat and message id under a new update id: only the store can tell it was seen
    bot.repeat(update);
    String barrier = f.runOf("main", bot.receive(Incoming.dm(120, "Jo", "barrier [in:D3b]")));
    f.awaitDelivered(barrier);
    assertThat(bot.botMessages(120)).extracting(Shown::text)
        .containsExactly("echo: only once [in:D3]", "echo: barrier [in:D3b]");
    f.assertOneTurn(update, "D3");
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("R2: an unknown sender gets a pairing code and no model call; no second code within the window; approved, the next DM is answered")
  void r2(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "pair");
    LogCapture logs = LogCapture.start();
    String code;
    try {
      code = pairAndTalk(f, bot);
    } finally {
      logs.close();
    }
    assertNeverLogged(logs, "issued a code to sender 501", code, bot.token);
  }

  /** R2's steps; returns the code the sender was given. */
  private static String pairAndTalk(TelegramFixture f, Bot bot) {
    JsonObject first = bot.receive(Incoming.dm(501, "Kim", "hi there [in:P1]"));
    Shown codeMessage = bot.await(501, s -> CODE.matcher(s.text()).find());
    Matcher m = CODE.matcher(codeMessage.text());
    assertThat(m.find()).isTrue();
    String code = m.group(1);
    f.awaitInbound("pair", first, "rejected");
    JsonObject second = bot.receive(Incoming.dm(501, "Kim", "hello? [in:P2]"));
    f.awaitInbound("pair", second, "rejected");
    // settled: the second message was handled, and it brought no second code
    assertThat(f.count("SELECT COUNT(*) FROM outbox WHERE target LIKE '%\"peerId\":\"501\"%'")).isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM sessions WHERE session_key LIKE '%501%'")).isZero();
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:P1]%'")).isZero();
    try (ProtocolClient c = f.gateway.client(f.workspace)) {
      JsonObject list = c.call("pairing.list", new JsonObject().put("channel", "telegram").put("accountId", "pair"));
      assertThat(list.getJsonArray("requests")).hasSize(1);
      assertThat(list.getJsonArray("requests").getJsonObject(0).getString("code")).isEqualTo(code);
      JsonObject approved = c.call("pairing.approve", new JsonObject().put("channel", "telegram").put("accountId", "pair")
          .put("code", code.toLowerCase()));
      assertThat(approved.getString("senderId")).isEqualTo("501");
    }
    bot.awaitText(501, "approved");
    String runId = f.runOf("pair", bot.receive(Incoming.dm(501, "Kim", "now? [in:P3]")));
    f.awaitDelivered(runId);
    assertThat(bot.botMessages(501)).hasSize(3);
    assertThat(bot.botMessages(501).get(2).text()).isEqualTo("echo: now? [in:P3]");
    return code;
  }

  /**
   * None of the captured log lines holds a secret (nor a token's part after the colon); and the
   * capture saw the work ({@code expected} was logged), so its silence about them means something.
   */
  static void assertNeverLogged(LogCapture logs, String expected, String... secrets) {
    List<String> lines = logs.lines();
    assertThat(lines).as("log lines").anyMatch(l -> l.contains(expected));
    for (String secret : secrets) {
      String part = secret.substring(secret.indexOf(':') + 1);
      assertThat(lines.stream().filter(l -> l.contains(secret) || l.contains(part))).as("log lines holding a secret")
          .isEmpty();
    }
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("R3: an unknown DM sender under an allowlist sees nothing: no code, no model call, no session; neither pairing nor approvals override it")
  void r3(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot main = bot(mode, "main");
    long sessionsBefore = f.count("SELECT COUNT(*) FROM sessions");
    JsonObject stranger = main.receive(Incoming.dm(999, "Mallory", "let me in [in:X1]"));
    f.awaitInbound("main", stranger, "rejected");
    // an approval on an allowlist account (say, left from when it paired) changes nothing
    insertApproval(f, "main", "999");
    JsonObject again = main.receive(Incoming.dm(999, "Mallory", "and now? [in:X2]"));
    f.awaitInbound("main", again, "rejected");
    assertThat(main.chat(999).stream().filter(s -> s.fromBot)).isEmpty();
    assertThat(f.count("SELECT COUNT(*) FROM sessions")).isEqualTo(sessionsBefore);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:X%'")).isZero();
    assertThat(f.count("SELECT COUNT(*) FROM pairing_requests WHERE sender_id = '999'")).isZero();

    // pairing with an allowlist: the allowlist wins. An unlisted sender gets nothing (no code), nor
    // does one approved (say, before allowFrom was set); the listed sender is in without a code
    Bot pairlist = bot(mode, "pairlist");
    JsonObject unlisted = pairlist.receive(Incoming.dm(602, "Olaf", "may I? [in:X4]"));
    insertApproval(f, "pairlist", "603");
    JsonObject approved = pairlist.receive(Incoming.dm(603, "Pam", "approved once [in:X5]"));
    f.awaitInbound("pairlist", unlisted, "rejected");
    f.awaitInbound("pairlist", approved, "rejected");
    String listed = f.runOf("pairlist", pairlist.receive(Incoming.dm(601, "Ned", "listed [in:X3]")));
    f.awaitDelivered(listed);
    assertThat(pairlist.botMessages(601)).extracting(Shown::text).containsExactly("echo: listed [in:X3]");
    assertThat(pairlist.chat(602).stream().filter(s -> s.fromBot)).isEmpty();
    assertThat(pairlist.chat(603).stream().filter(s -> s.fromBot)).isEmpty();
    assertThat(f.count("SELECT COUNT(*) FROM pairing_requests WHERE account_id = 'pairlist'")).isZero();
    assertThat(f.count("SELECT COUNT(*) FROM outbox WHERE account_id = 'pairlist' AND (target LIKE '%\"peerId\":\"602\"%'"
        + " OR target LIKE '%\"peerId\":\"603\"%')")).isZero();
    assertThat(f.count("SELECT COUNT(*) FROM sessions WHERE session_key LIKE '%:602' OR session_key LIKE '%:603'")).isZero();
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:X4]%' OR payload LIKE '%[in:X5]%'"))
        .isZero();
  }

  static void insertApproval(TelegramFixture f, String account, String sender) {
    TestDatabases.execute(f.db, f.schema(), "INSERT INTO pairing_approvals (channel, account_id, sender_id, approved_at)"
        + " VALUES ('telegram', '" + account + "', '" + sender + "', CURRENT_TIMESTAMP)");
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("R4: an unmentioned group message gets no model call and no reply; @mention, a reply to the bot and the owner each get one reply")
  void r4(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String m = mode.name().substring(0, 1);
    JsonObject quiet = bot.receive(Incoming.group(R4_GROUP, 201, "Olga", "just chatting about turnips [in:G1" + m + "]"));
    f.awaitInbound("main", quiet, "done");
    bot.receive(Incoming.group(R4_GROUP, 201, "Olga", "/status@some_other_bot [in:G0" + m + "]"));
    String mentioned = f.runOf("main", bot.receive(Incoming.group(R4_GROUP, 201, "Olga", "@" + bot.username
        + " what did I say? [in:G2" + m + "]")));
    Shown answer = bot.awaitText(R4_GROUP, "<<G2" + m + ">>");
    f.awaitDelivered(mentioned);
    String replied = f.runOf("main", bot.receive(Incoming.group(R4_GROUP, 201, "Olga", "and this? [in:G3" + m + "]")
        .replyTo(answer)));
    f.awaitDelivered(replied);
    String owner = f.runOf("main", bot.receive(Incoming.group(R4_GROUP, OWNER, "Boss", "owner speaks [in:G4" + m + "]")));
    f.awaitDelivered(owner);
    assertThat(bot.botMessages(R4_GROUP)).extracting(Shown::text).containsExactly("<<G2" + m + ">> ok <<end-G2" + m + ">>",
        "<<G3" + m + ">> ok <<end-G3" + m + ">>", "<<G4" + m + ">> ok <<end-G4" + m + ">>");
    // the unmentioned message never reached the model as a turn of its own, but is context of the next
    // (session.unmentionedContext defaults to true); the command to another bot is nowhere
    assertThat(model.requests()).noneMatch(r -> r.conversation().lastUserTextValue().contains("[in:G1" + m + "]"));
    assertThat(prompt("G2" + m).texts()).anyMatch(t -> t.contains("just chatting about turnips"));
    assertThat(model.requests()).noneMatch(r -> r.conversation().texts().stream().anyMatch(t -> t.contains("[in:G0" + m + "]")));
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:G1" + m + "]%'"
        + " AND payload LIKE '%\"triggered\":false%'")).isEqualTo(1);
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE payload LIKE '%[in:G0" + m + "]%'")).isZero();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("R4: with session.unmentionedContext off, an unmentioned group message is stored but never shown to the model")
  void r4WithoutContext(Mode mode) {
    gateway(mode);
    TelegramFixture f = quietFixtures.get(mode);
    Bot bot = bot(mode, "quiet");
    String m = mode.name().substring(0, 1);
    long group = -100_402;
    JsonObject chatter = bot.receive(Incoming.group(group, 202, "Pia", "just chatting about parsnips [in:Q1" + m + "]"));
    f.awaitInbound("quiet", chatter, "done");
    String mentioned = f.runOf("quiet", bot.receive(Incoming.group(group, 202, "Pia", "@" + bot.username
        + " what did I say? [in:Q2" + m + "]")));
    f.awaitDelivered(mentioned);
    assertThat(bot.botMessages(group)).extracting(Shown::text).containsExactly("<<Q2" + m + ">> ok <<end-Q2" + m + ">>");
    assertThat(model.requests()).noneMatch(r -> r.conversation().lastUserTextValue().contains("[in:Q1" + m + "]"));
    assertThat(prompt("Q2" + m).texts()).noneMatch(t -> t.contains("parsnips"));
    // stored in the same session all the same: the policy, not a lost message, keeps it out
    assertThat(f.count("SELECT COUNT(*) FROM session_events WHERE type = 'user_message' AND payload LIKE '%[in:Q1" + m + "]%'"
        + " AND payload LIKE '%\"triggered\":false%' AND session_id = (SELECT session_id FROM inbound WHERE run_id = '"
        + mentioned + "')")).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("R5: group members have sessions of their own and a forum topic is its own session: no prompt shows another's text")
  void r5(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String m = mode.name().substring(0, 1);
    String at = "@" + bot.username + " ";
    String a = f.runOf("main", bot.receive(Incoming.group(R5_GROUP, 301, "Ann", at + "Ann's secret is 4711 [in:M1" + m + "]")));
    f.awaitDelivered(a);
    String b = f.runOf("main", bot.receive(Incoming.group(R5_GROUP, 302, "Ben", at + "Ben asks [in:M2" + m + "]")));
    f.awaitDelivered(b);
    String t = f.runOf("main", bot.receive(Incoming.group(R5_GROUP, 301, "Ann", at + "in a topic [in:M3" + m + "]")
        .topic(7)));
    f.awaitDelivered(t);
    String again = f.runOf("main", bot.receive(Incoming.group(R5_GROUP, 301, "Ann", at + "back in the group [in:M4" + m + "]")));
    f.awaitDelivered(again);
    // Ben's prompt and the topic's prompt show nothing of Ann's message in the group, nor its answer
    assertThat(prompt("M2" + m).texts()).noneMatch(x -> x.contains("4711") || x.contains("M1" + m));
    assertThat(prompt("M3" + m).texts()).noneMatch(x -> x.contains("4711") || x.contains("M1" + m));
    // ...which Ann's next message in the group does show: her session has it
    assertThat(prompt("M4" + m).texts()).anyMatch(x -> x.contains("4711")).noneMatch(x -> x.contains("M2" + m) || x.contains("M3" + m));
    assertThat(f.scalar("SELECT session_key FROM inbound WHERE run_id = '" + a + "'"))
        .isEqualTo("agent:scripted:telegram:group:" + R5_GROUP + ":member:301");
    assertThat(f.scalar("SELECT session_key FROM inbound WHERE run_id = '" + b + "'"))
        .isEqualTo("agent:scripted:telegram:group:" + R5_GROUP + ":member:302");
    assertThat(f.scalar("SELECT session_key FROM inbound WHERE run_id = '" + t + "'"))
        .isEqualTo("agent:scripted:telegram:group:" + R5_GROUP + ":topic:7:member:301");
    Shown inTopic = bot.awaitText(R5_GROUP, "<<M3" + m + ">>");
    assertThat(inTopic.threadId).isEqualTo(7L);
    assertThat(bot.botMessages(R5_GROUP).stream().filter(s -> s.text().contains("<<M1" + m + ">>")).findFirst().orElseThrow()
        .threadId).isNull();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("typing is shown while a turn runs, renewed, and stops when it ends")
  void typing(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    String runId = f.runOf("main", bot.receive(Incoming.dm(121, "Kai",
        "a reply long enough to stream for a while, ".repeat(6) + "[in:TY]")));
    f.awaitDelivered(runId);
    assertThat(bot.calls("sendChatAction").stream().filter(c -> c.params().getLong("chat_id") == 121)
        .map(c -> c.params().getString("action"))).hasSizeGreaterThanOrEqualTo(2).containsOnly("typing");
    f.awaitStatus(vertx, "main", st -> st.getInteger("typingChats") == 0);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("Markdown arrives as Telegram HTML, escaped; formatting Telegram refuses is sent once more as plain text")
  void html(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot flat = bot(mode, "flat");
    String runId = f.runOf("flat", flat.receive(Incoming.dm(122, "Lea", "**bold** & <b>tag</b> `a<b` [in:H1]")));
    f.awaitDelivered(runId);
    Shown shown = flat.botMessages(122).get(0);
    assertThat(shown.text()).isEqualTo("echo: bold & <b>tag</b> a<b [in:H1]");
    assertThat(shown.entities()).extracting(TelegramHtml.Entity::type).containsExactly("bold", "code");
    assertThat(shown.parseMode).isEqualTo("HTML");

    flat.inject(c -> c.method().equals("sendMessage") && c.params().getLong("chat_id") == 123,
        Fault.error(400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 6"));
    String fallback = f.runOf("flat", flat.receive(Incoming.dm(123, "Max", "**plain** please [in:H2]")));
    f.awaitDelivered(fallback);
    assertThat(flat.botMessages(123)).hasSize(1).first().satisfies(s -> {
      assertThat(s.text()).isEqualTo("echo: plain please [in:H2]");
      assertThat(s.parseMode).isNull();
    });
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  @DisplayName("captions are messages; service messages and other bots' messages get nothing")
  void captionsAndServiceMessages(Mode mode) {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    JsonObject service = bot.receive(Incoming.dm(124, "Ola", null).asService());
    JsonObject fromBot = bot.receive(Incoming.dm(124, "Ola", "a bot talking [in:S0]").fromBot());
    String caption = f.runOf("main", bot.receive(Incoming.dm(124, "Ola", "look at this [in:S1]").asCaption()));
    f.awaitDelivered(caption);
    assertThat(bot.botMessages(124)).extracting(Shown::text).containsExactly("echo: look at this [in:S1]");
    long stored = f.count("SELECT COUNT(*) FROM inbound WHERE platform_message_id IN ('124:"
        + service.getJsonObject("message").getLong("message_id") + "', '124:"
        + fromBot.getJsonObject("message").getLong("message_id") + "')");
    assertThat(stored).isZero();
  }

  @ParameterizedTest
  @EnumSource(value = Mode.class, names = "WEBHOOK")
  @DisplayName("a forged webhook (wrong or missing secret) is refused with 401 and stores nothing")
  void forgedWebhook(Mode mode) throws Exception {
    TelegramFixture f = gateway(mode);
    Bot bot = bot(mode, "main");
    long before = f.count("SELECT COUNT(*) FROM inbound");
    JsonObject update = new JsonObject().put("update_id", 1).put("message", new JsonObject().put("message_id", 1)
        .put("date", 0).put("chat", new JsonObject().put("id", 130).put("type", "private"))
        .put("from", new JsonObject().put("id", 130).put("is_bot", false).put("first_name", "Eve"))
        .put("text", "forged [in:F1]"));
    WebClient web = WebClient.create(vertx);
    try {
      var wrong = web.postAbs(bot.webhookUrl()).putHeader(TelegramChannelVerticle.SECRET_HEADER, "hook-secret-mainx")
          .sendBuffer(Buffer.buffer(update.encode())).await(10, TimeUnit.SECONDS);
      var missing = web.postAbs(bot.webhookUrl()).sendBuffer(Buffer.buffer(update.encode())).await(10, TimeUnit.SECONDS);
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(missing.statusCode()).isEqualTo(401);
    } finally {
      web.close();
    }
    assertThat(f.count("SELECT COUNT(*) FROM inbound")).isEqualTo(before);
    assertThat(bot.chat(130)).isEmpty();
  }
}
