package dev.switchboard.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestChannel;
import dev.switchboard.support.TestChannel.Fault;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactly one visible reply per message, whatever the platform does: the fault matrix (rate limits,
 * resets before and after the platform took the request, lost acks, timeouts reported and requests
 * never answered, refused formatting, refused final edits) across plain, split and streamed
 * replies, through the real gateway and a stand-in channel that keeps what users see. Also running
 * out of attempts, accounts not announced yet, targets, mirroring and the per-chat edit budget.
 */
@Timeout(300)
class DeliveryTest {
  static final int CAP = 160;
  /** Short, so that a call never answered costs the test little; long enough for any answered one. */
  static final long SEND_TIMEOUT_MS = 2_000;
  static final int MAX_ATTEMPTS = 3;
  static final long BACKOFF_MS = 50;
  static final long THROTTLE_MS = 250;
  static final String LONG = ("This sentence is part of a long answer that has to be split. ").repeat(6);
  static Vertx vertx;
  static TestGateway gateway;
  static DatabaseConfig db;
  /** One account per reply shape; the matrix runs in chats of its own, so faults never cross cases. */
  static TestChannel plain;
  static TestChannel split;
  static TestChannel stream;
  static TestChannel streamSplit;
  static TestChannel blind;
  static TestChannel blindFormat;
  static TestChannel late;
  static TestChannel busy;
  static TestChannel quiet;
  static final AtomicInteger chats = new AtomicInteger();

  @BeforeAll
  static void start(@TempDir Path root) {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    JsonArray accounts = new JsonArray();
    for (String a : List.of("plain", "split", "stream", "streamsplit", "blind", "blindfmt", "html", "late", "busy")) {
      accounts.add(TestChannel.account(a, "open", new JsonArray()));
    }
    JsonObject delivery = new JsonObject().put("mirror", true).put("maxAttempts", MAX_ATTEMPTS)
        .put("backoffMs", BACKOFF_MS).put("maxBackoffMs", 4 * BACKOFF_MS).put("sendTimeoutMs", SEND_TIMEOUT_MS);
    JsonObject ws = workspace(accounts, delivery);
    // the same, with mirroring left at its default (off)
    JsonObject quietWs = workspace(new JsonArray().add(TestChannel.account("plain", "open", new JsonArray())),
        new JsonObject().put("sendTimeoutMs", SEND_TIMEOUT_MS));
    gateway = TestGateway.in(vertx, root, db).workspace("w", ws).workspace("q", quietWs).start();
    plain = channel("plain", 0, false, true);
    split = channel("split", CAP, false, true);
    stream = channel("stream", 4096, true, true);
    streamSplit = channel("streamsplit", CAP, true, true);
    blind = channel("blind", 0, false, false);
    blindFormat = new TestChannel(vertx, db, "w",
        new ChannelOutlet.Profile("test", "blindfmt", 0, false, 30, "markdown", false), true);
    // served, but not announced until a test says so (an adapter still starting)
    late = new TestChannel(vertx, db, "w", new ChannelOutlet.Profile("test", "late", CAP, false, 30, "markdown", true),
        false, false);
    busy = new TestChannel(vertx, db, "w",
        new ChannelOutlet.Profile("test", "busy", 4096, true, THROTTLE_MS, "markdown", true), false);
    quiet = new TestChannel(vertx, db, "q", new ChannelOutlet.Profile("test", "plain", 0, false, 30, "markdown", true),
        false);
  }

  static JsonObject workspace(JsonArray accounts, JsonObject delivery) {
    return new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "echo").put("options", new JsonObject().put("chunkDelayMs", 15).put("chunkWords", 3)))))
        .put("delivery", delivery)
        .put("owners", new JsonArray().add("test:boss"))
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", accounts)));
  }

  static TestChannel channel(String account, int maxChars, boolean edits, boolean reconcile) {
    return new TestChannel(vertx, db, "w",
        new ChannelOutlet.Profile("test", account, maxChars, edits, 30, "markdown", reconcile), false);
  }

  @AfterAll
  static void stop() throws Exception {
    for (TestChannel c : List.of(plain, split, stream, streamSplit, blind, blindFormat, late, busy, quiet)) {
      c.close();
    }
    gateway.close();
    TestDatabases.dropSchemas(db);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static String stored(String runId) {
    return new JsonObject((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT payload FROM session_events WHERE type = 'text_final' AND run_id = '" + runId + "'")).getString("text");
  }

  static String status(String runId) {
    return (String) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT status FROM outbox WHERE run_id = '" + runId + "'");
  }

  static int attempts(String runId) {
    return ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT attempts FROM outbox WHERE run_id = '" + runId + "'")).intValue();
  }

  static TestChannel account(String shape) {
    return switch (shape) {
      case "plain" -> plain;
      case "split" -> split;
      case "streamed" -> stream;
      default -> streamSplit;
    };
  }

  static Stream<Arguments> matrix() {
    List<Arguments> out = new ArrayList<>();
    for (String shape : List.of("plain", "split", "streamed", "streamed+split")) {
      for (String fault : List.of("none", "429 retry_after", "connection reset before taken",
          "connection reset after taken", "timeout reported", "no answer", "ack lost", "rejected formatting",
          "rejected final edit")) {
        if (fault.equals("rejected final edit") && !shape.startsWith("streamed")) {
          continue; // only streamed replies end with an edit
        }
        out.add(Arguments.of(shape, fault));
      }
    }
    return out.stream();
  }

  static Fault fault(String name) {
    return switch (name) {
      case "429 retry_after" -> Fault.rateLimited(150);
      case "connection reset before taken" -> Fault.resetBefore();
      case "connection reset after taken" -> Fault.resetAfter();
      case "timeout reported" -> Fault.timeoutNotShown();
      case "no answer" -> Fault.noAnswer(true);
      case "ack lost" -> Fault.ackLost();
      case "rejected formatting" -> Fault.badFormatting();
      default -> Fault.rejected();
    };
  }

  @ParameterizedTest(name = "{0} reply, {1}")
  @MethodSource("matrix")
  @DisplayName("exactly one unmarked, complete visible copy equal to the stored reply")
  void exactlyOneVisibleCopy(String shape, String faultName) {
    TestChannel ch = account(shape);
    String chat = "c" + chats.incrementAndGet();
    boolean streamed = shape.startsWith("streamed");
    boolean long_ = shape.contains("split");
    if (!faultName.equals("none")) {
      // the fault hits the final: the last send of a split reply, or the edit that carries a streamed final
      Predicate<ChannelOutlet.Request> target = r -> chat.equals(r.target().peerId()) && !r.preview()
          && (streamed ? r.op().equals(ChannelOutlet.EDIT) : r.op().equals(ChannelOutlet.SEND))
          && r.chunk() == (long_ && !streamed ? r.chunks() - 1 : 0);
      ch.inject(target, fault(faultName));
    }
    // streamed replies stream for a while (about 20 chunks), so the preview exists before the final
    String message = (long_ || streamed ? LONG : "short question ") + "[in:" + chat + "]";
    String runId = ch.dm(chat, message).getString("runId");
    awaitDelivered(runId);
    String expected = stored(runId);
    List<TestChannel.Shown> visible = ch.chat(chat);
    assertThat(ch.visibleText(chat)).isEqualTo(expected);
    assertThat(visible).noneMatch(s -> s.text().startsWith(ChannelOutlet.DUPLICATE_MARKER));
    if (long_) {
      assertThat(visible).hasSizeGreaterThanOrEqualTo(2).allSatisfy(s -> assertThat(s.text().length()).isLessThanOrEqualTo(CAP));
    } else {
      assertThat(visible).hasSize(1);
    }
    if (streamed) {
      // the preview was created, then edited: the first visible message carries earlier versions
      assertThat(ch.shown(s -> chat.equals(s.peerId())).stream().mapToInt(s -> s.versions().size()).sum())
          .isGreaterThan(visible.size());
    }
  }

  static Stream<Arguments> blindFaults() {
    return Stream.of(
        Arguments.of("connection reset before taken", List.of(false)),
        Arguments.of("connection reset after taken", List.of(false, true)),
        Arguments.of("ack lost", List.of(false, true)),
        Arguments.of("no answer, shown", List.of(false, true)),
        Arguments.of("no answer, not shown", List.of(true)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("blindFaults")
  @DisplayName("D2 (no way to check): a send known not to have left is resent plain; one whose outcome is unknown"
      + " is resent once, marked")
  void unknownOutcomeWithoutReconcile(String faultName, List<Boolean> markedCopies) {
    String chat = "b" + chats.incrementAndGet();
    Fault f = switch (faultName) {
      case "connection reset before taken" -> Fault.resetBefore();
      case "connection reset after taken" -> Fault.resetAfter();
      case "ack lost" -> Fault.ackLost();
      case "no answer, shown" -> Fault.noAnswer(true);
      default -> Fault.noAnswer(false);
    };
    blind.inject(r -> chat.equals(r.target().peerId()) && r.op().equals(ChannelOutlet.SEND), f);
    String runId = blind.dm(chat, "hello [in:" + chat + "]").getString("runId");
    awaitDelivered(runId);
    List<TestChannel.Shown> copies = blind.chat(chat);
    assertThat(copies).extracting(s -> s.text().startsWith(ChannelOutlet.DUPLICATE_MARKER)).isEqualTo(markedCopies);
    assertThat(copies).allSatisfy(s -> assertThat(s.text()).endsWith(stored(runId)));
    assertThat(copies).allSatisfy(s -> assertThat(s.text()).isIn(stored(runId), ChannelOutlet.DUPLICATE_MARKER + stored(runId)));
    // one first send and, only after a fault, one resend: never a third
    assertThat(blind.calls(r -> chat.equals(r.target().peerId()) && r.op().equals(ChannelOutlet.SEND))).hasSize(2);
    assertThat(attempts(runId)).isEqualTo(2);
  }

  @Test
  @DisplayName("a marked resend keeps its marker when the platform refuses the formatting and it goes out as plain text")
  void markedResendAsPlainText() {
    String chat = "bf" + chats.incrementAndGet();
    // the first plain-text fallback is shown but its answer is lost; the channel cannot check
    blindFormat.inject(r -> chat.equals(r.target().peerId()) && r.op().equals(ChannelOutlet.SEND)
        && "plain".equals(r.format()), Fault.ackLost());
    String runId = blindFormat.dm(chat, "**bold** question [in:" + chat + "]").getString("runId");
    awaitDelivered(runId);
    String plainText = Formatter.format(stored(runId), "plain");
    List<TestChannel.Shown> copies = blindFormat.chat(chat);
    assertThat(copies).extracting(TestChannel.Shown::text)
        .containsExactly(plainText, ChannelOutlet.DUPLICATE_MARKER + plainText);
    assertThat(blindFormat.calls(r -> chat.equals(r.target().peerId())).stream().map(ChannelOutlet.Request::format))
        .containsExactly("markdown", "plain", "markdown", "plain");
  }

  @Test
  @DisplayName("a send never answered is reconciled after the send timeout, not resent")
  void neverAnsweredIsReconciled() {
    String chat = "n" + chats.incrementAndGet();
    plain.inject(r -> chat.equals(r.target().peerId()) && r.op().equals(ChannelOutlet.SEND), Fault.noAnswer(true));
    String runId = plain.dm(chat, "are you there [in:" + chat + "]").getString("runId");
    awaitDelivered(runId);
    assertThat(plain.chat(chat)).extracting(TestChannel.Shown::text).containsExactly(stored(runId));
    List<TestChannel.Call> calls = plain.timedCalls(r -> chat.equals(r.target().peerId()));
    assertThat(calls).extracting(c -> c.request().op()).containsExactly(ChannelOutlet.SEND, ChannelOutlet.RECONCILE);
    // the outcome counted as unknown only once the send timeout had passed
    assertThat(calls.get(1).atNanos() - calls.get(0).atNanos()).isGreaterThanOrEqualTo(SEND_TIMEOUT_MS * 1_000_000);
    assertThat(attempts(runId)).isEqualTo(2);
  }

  @Test
  @DisplayName("a reply that keeps failing is given up after maxAttempts, with backoff between, and the user gets a short notice")
  void attemptsRunOut() {
    String chat = "f" + chats.incrementAndGet();
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
      plain.inject(r -> chat.equals(r.target().peerId()) && r.obligationId() != null, Fault.unavailable());
    }
    String runId = plain.dm(chat, "doomed [in:" + chat + "]").getString("runId");
    plain.awaitText(chat, DeliveryVerticle.FAILURE_NOTICE);
    TestDatabases.awaitValue(db, db.workspaceSchema("w"), "SELECT status FROM outbox WHERE run_id = '" + runId + "'",
        "failed");
    assertThat(attempts(runId)).isEqualTo(MAX_ATTEMPTS);
    assertThat(plain.chat(chat)).extracting(TestChannel.Shown::text).containsExactly(DeliveryVerticle.FAILURE_NOTICE);
    List<TestChannel.Call> sends = plain.timedCalls(r -> chat.equals(r.target().peerId()) && r.obligationId() != null);
    assertThat(sends).hasSize(MAX_ATTEMPTS);
    for (int i = 1; i < sends.size(); i++) {
      // backoff: 50 ms, then 100 ms at least
      assertThat(sends.get(i).atNanos() - sends.get(i - 1).atNanos())
          .isGreaterThanOrEqualTo((BACKOFF_MS << (i - 1)) * 1_000_000);
    }
    assertThat((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT last_error FROM outbox WHERE run_id = '" + runId + "'")).contains("Service Unavailable");
  }

  @Test
  @DisplayName("a reply the platform refuses for good is not retried; it ends failed and the user gets a short notice")
  void refusedForGood() {
    String chat = "r" + chats.incrementAndGet();
    plain.inject(r -> chat.equals(r.target().peerId()) && r.obligationId() != null, Fault.chatNotFound());
    String runId = plain.dm(chat, "refused [in:" + chat + "]").getString("runId");
    plain.awaitText(chat, DeliveryVerticle.FAILURE_NOTICE);
    TestDatabases.awaitValue(db, db.workspaceSchema("w"), "SELECT status FROM outbox WHERE run_id = '" + runId + "'",
        "failed");
    assertThat(attempts(runId)).isEqualTo(1);
    assertThat(plain.calls(r -> chat.equals(r.target().peerId()) && r.obligationId() != null)).hasSize(1);
    assertThat(plain.chat(chat)).extracting(TestChannel.Shown::text).containsExactly(DeliveryVerticle.FAILURE_NOTICE);
  }

  @Test
  @DisplayName("an explicit target of an account whose adapter has not announced itself is kept as written and waits;"
      + " once announced it goes out in that account's chunks")
  void waitsForTheAccountProfile() {
    String message = LONG + "[late]";
    try (ProtocolClient c = gateway.client("w")) {
      JsonObject sent = c.call("send", new JsonObject().put("to", "test:late:room-late").put("message", message)
          .put("idempotencyKey", "late-1"));
      assertThat(sent.getJsonObject("target").getString("accountId")).isEqualTo("late");
      assertThat(sent.getJsonObject("target").getString("peerId")).isEqualTo("room-late");
      // barrier: a later message to an announced account is delivered first
      c.call("send", new JsonObject().put("to", "test:plain:late-barrier").put("message", "barrier")
          .put("idempotencyKey", "late-barrier"));
    }
    awaitDelivered("late-barrier");
    assertThat(status("late-1")).isEqualTo("pending");
    assertThat(attempts("late-1")).isZero();
    assertThat(late.calls(r -> true)).isEmpty();
    JsonObject target = new JsonObject((String) TestDatabases.scalar(db, db.workspaceSchema("w"),
        "SELECT target FROM outbox WHERE run_id = 'late-1'"));
    assertThat(target.getString("accountId")).isEqualTo("late");
    assertThat(target.getString("peerId")).isEqualTo("room-late");
    assertThat(target.getString("threadId")).isNull();

    late.register();
    awaitDelivered("late-1");
    assertThat(late.visibleText("room-late")).isEqualTo(message);
    assertThat(late.chat("room-late")).hasSizeGreaterThanOrEqualTo(2)
        .allSatisfy(s -> assertThat(s.text().length()).isLessThanOrEqualTo(CAP));
    assertThat(attempts("late-1")).isEqualTo(1);
  }

  @Test
  @DisplayName("a reply owed to an account the workspace no longer configures is tried and given up, not kept waiting")
  void unconfiguredAccountFails() {
    // as a reply committed before the account was removed from workspace.json leaves it
    TestDatabases.execute(db, db.workspaceSchema("w"), "INSERT INTO outbox (id, run_id, channel, account_id, target,"
        + " payload, status, attempts, next_attempt_at, created_at, updated_at) VALUES ('gone-1', 'gone-1', 'test',"
        + " 'removed', '{\"channel\":\"test\",\"accountId\":\"removed\",\"peerKind\":\"direct\",\"peerId\":\"x\"}',"
        + " '{\"text\":\"hello\",\"runId\":\"gone-1\"}', 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
        + " CURRENT_TIMESTAMP)");
    TestDatabases.awaitValue(db, db.workspaceSchema("w"), "SELECT status FROM outbox WHERE run_id = 'gone-1'", "failed");
    assertThat(attempts("gone-1")).isEqualTo(MAX_ATTEMPTS);
  }

  @Test
  @DisplayName("two replies streaming into one chat share its edit budget; the final edit waits its turn too")
  void editBudgetPerChat() {
    String chat = "g" + chats.incrementAndGet();
    String a = busy.send(busy.message().peer("group", chat).topic("1").sender("ann", "ann").mentioned(true)
        .text(LONG + "[in:A]").build()).getString("runId");
    String b = busy.send(busy.message().peer("group", chat).topic("2").sender("bob", "bob").mentioned(true)
        .text(LONG + "[in:B]").build()).getString("runId");
    awaitDelivered(a);
    awaitDelivered(b);
    assertThat(busy.chat(chat)).extracting(TestChannel.Shown::text).containsExactlyInAnyOrder(stored(a), stored(b));
    // every message creation of a preview and every edit in the chat, of both replies, in order
    List<TestChannel.Call> edits = busy.timedCalls(r -> chat.equals(r.target().peerId())
        && (r.op().equals(ChannelOutlet.EDIT) || (r.op().equals(ChannelOutlet.SEND) && r.preview())));
    assertThat(edits.stream().map(c -> c.request().runId()).distinct()).containsExactlyInAnyOrder(a, b);
    assertThat(edits.stream().filter(c -> !c.request().preview())).as("final edits").isNotEmpty();
    for (int i = 1; i < edits.size(); i++) {
      // the gateway's clock counts whole milliseconds: 1 ms of slack
      assertThat(edits.get(i).atNanos() - edits.get(i - 1).atNanos()).as("gap before edit %d of %s", i, edits)
          .isGreaterThanOrEqualTo((THROTTLE_MS - 1) * 1_000_000);
    }
  }

  @Test
  @DisplayName("formatting the platform refuses is sent again as plain text, once")
  void plainTextFallback() {
    TestChannel html = new TestChannel(vertx, db, "w", new ChannelOutlet.Profile("test", "html", 0, false, 0, "html", true), true);
    try {
      try (ProtocolClient c = gateway.client("w")) {
        c.call("send", new JsonObject().put("to", "test:html:chat-h").put("message", "**bold** and `code` <b>")
            .put("idempotencyKey", "fmt-1"));
      }
      TestChannel.Shown shown = html.await(s -> "chat-h".equals(s.peerId()));
      assertThat(shown.text()).isEqualTo("bold and code <b>");
      assertThat(html.calls(r -> "chat-h".equals(r.target().peerId())).stream().map(ChannelOutlet.Request::format))
          .containsExactly("html", "plain");
    } finally {
      html.close();
    }
  }

  @Test
  @DisplayName("C9: a marker with text sends only the text, and the marker never shows in a preview edit")
  void silenceMarkerNeverFlashes() {
    String runId = stream.dm("quiet", "<NO_REPLY> but here is text [in:SM]").getString("runId");
    awaitDelivered(runId);
    assertThat(stream.shown(s -> "quiet".equals(s.peerId())))
        .allSatisfy(s -> assertThat(s.versions()).noneMatch(v -> v.contains("<NO") || v.contains("REPLY>")));
    assertThat(stream.visibleText("quiet")).isEqualTo(stored(runId)).doesNotContain("<NO_REPLY>");
  }

  @Test
  @DisplayName("D4: a message to an explicit target or the home chat is delivered once and mirrored into that chat's session")
  void explicitAndHomeTargets() {
    try (ProtocolClient c = gateway.client("w")) {
      JsonObject sent = c.call("send", new JsonObject().put("to", "test:plain:ops-room").put("message", "deploy done")
          .put("idempotencyKey", "t-1"));
      assertThat(sent.getString("mirrorSessionKey")).isEqualTo("agent:main:test:direct:ops-room");
      plain.awaitText("ops-room", "deploy done");
      // the same idempotency key is one message
      JsonObject again = c.call("send", new JsonObject().put("to", "test:plain:ops-room").put("message", "deploy done")
          .put("idempotencyKey", "t-1"));
      assertThat(again.getString("obligationId")).isEqualTo(sent.getString("obligationId"));

      // a home chat is unknown until an owner sets it; others cannot
      JsonObject noHome = c.request("send", new JsonObject().put("to", "home:test:plain").put("message", "x")
          .put("idempotencyKey", "t-2"));
      assertThat(noHome.getJsonObject("error").getString("message")).contains("no home chat");
      plain.send(plain.message().peer("group", "home-g").sender("guest", "guest").mentioned(true).text("/sethome").build());
      plain.await(s -> "home-g".equals(s.peerId()) && s.text().startsWith("Only an owner"));
      plain.send(plain.message().peer("group", "home-g").topic("9").sender("boss", "boss").text("/sethome").build());
      plain.await(s -> "home-g".equals(s.peerId()) && s.text().startsWith("This chat is now the home chat"));
      JsonObject home = c.call("send", new JsonObject().put("to", "home:test:plain").put("message", "nightly report")
          .put("idempotencyKey", "t-3"));
      // a group home chat stays a group chat, with its topic, all the way to the platform
      assertThat(home.getString("mirrorSessionKey")).isEqualTo("agent:main:test:group:home-g:thread:9");
      TestChannel.Shown report = plain.awaitText("home-g", "nightly report");
      assertThat(report.threadId()).isEqualTo("9");
      assertThat(report.peerKind()).isEqualTo("group");
    }
    awaitDelivered("t-1");
    assertThat(plain.chat("ops-room")).hasSize(1);
    long mirrored = ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events"
        + " WHERE type = 'assistant_note' AND payload LIKE '%deploy done%' AND payload LIKE '%\"mirrored\":true%'"))
        .longValue();
    assertThat(mirrored).isEqualTo(1);
  }

  @Test
  @DisplayName("D4: without delivery.mirror a message to an explicit target is delivered once and not stored in that chat's session")
  void noMirrorUnlessConfigured() {
    try (ProtocolClient c = gateway.client("q")) {
      JsonObject sent = c.call("send", new JsonObject().put("to", "test:plain:ops-q").put("message", "quiet deploy done")
          .put("idempotencyKey", "q-1"));
      assertThat(sent.containsKey("mirrorSessionKey") && sent.getValue("mirrorSessionKey") != null).isFalse();
    }
    quiet.awaitText("ops-q", "quiet deploy done");
    TestDatabases.awaitDelivered(db, db.workspaceSchema("q"), "q-1");
    // barrier: a turn in that chat's session is stored after anything the delivery could have mirrored
    String runId = quiet.dm("ops-q", "and now? [in:Q2]").getString("runId");
    TestDatabases.awaitDelivered(db, db.workspaceSchema("q"), runId);
    assertThat(quiet.chat("ops-q")).hasSize(2);
    long notes = ((Number) TestDatabases.scalar(db, db.workspaceSchema("q"), "SELECT COUNT(*) FROM session_events"
        + " WHERE type = 'assistant_note'")).longValue();
    assertThat(notes).isZero();
    long turns = ((Number) TestDatabases.scalar(db, db.workspaceSchema("q"), "SELECT COUNT(*) FROM session_events"
        + " WHERE type = 'text_final'")).longValue();
    assertThat(turns).isEqualTo(1);
  }

  static void awaitDelivered(String runId) {
    TestDatabases.awaitDelivered(db, db.workspaceSchema("w"), runId);
  }
}
