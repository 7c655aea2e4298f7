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
 * resets, lost acks, timeouts, refused formatting, refused final edits) across plain, split and
 * streamed replies, through the real gateway and a stand-in channel that keeps what users see.
 */
@Timeout(180)
class DeliveryTest {
  static final int CAP = 160;
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
  static final AtomicInteger chats = new AtomicInteger();

  @BeforeAll
  static void start(@TempDir Path root) {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    JsonArray accounts = new JsonArray();
    for (String a : List.of("plain", "split", "stream", "streamsplit", "blind", "html")) {
      accounts.add(TestChannel.account(a, "open", new JsonArray()));
    }
    JsonObject ws = new JsonObject().put("port", 0)
        .put("agents", new JsonArray().add(new JsonObject().put("id", "main").put("model", new JsonObject()
            .put("provider", "echo").put("options", new JsonObject().put("chunkDelayMs", 15).put("chunkWords", 3)))))
        .put("delivery", new JsonObject().put("mirror", true))
        .put("owners", new JsonArray().add("test:boss"))
        .put("channels", new JsonObject().put("test", new JsonObject().put("accounts", accounts)));
    gateway = TestGateway.in(vertx, root, db).workspace("w", ws).start();
    plain = channel("plain", 0, false, true);
    split = channel("split", CAP, false, true);
    stream = channel("stream", 4096, true, true);
    streamSplit = channel("streamsplit", CAP, true, true);
    blind = channel("blind", 0, false, false);
  }

  static TestChannel channel(String account, int maxChars, boolean edits, boolean reconcile) {
    return new TestChannel(vertx, db, "w",
        new ChannelOutlet.Profile("test", account, maxChars, edits, 30, "markdown", reconcile), false);
  }

  @AfterAll
  static void stop() throws Exception {
    for (TestChannel c : List.of(plain, split, stream, streamSplit, blind)) {
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
      for (String fault : List.of("none", "429 retry_after", "connection reset", "send timeout", "ack lost",
          "rejected formatting", "rejected final edit")) {
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
      case "connection reset" -> Fault.reset();
      case "send timeout" -> Fault.timeoutNotShown();
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

  @Test
  @DisplayName("D2 (no way to check): an ack lost on a platform that cannot reconcile gives at most one extra, marked copy")
  void ackLostWithoutReconcile() {
    blind.inject(r -> "lost".equals(r.target().peerId()) && r.op().equals(ChannelOutlet.SEND), Fault.ackLost());
    String runId = blind.dm("lost", "hello [in:AL]").getString("runId");
    awaitDelivered(runId);
    List<TestChannel.Shown> copies = blind.chat("lost").stream().filter(s -> s.text().contains("[in:AL]")).toList();
    assertThat(copies).hasSize(2);
    assertThat(copies.get(0).text()).isEqualTo(stored(runId));
    assertThat(copies.get(1).text()).isEqualTo(ChannelOutlet.DUPLICATE_MARKER + stored(runId));
    assertThat(status(runId)).isEqualTo("delivered");
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
      c.call("send", new JsonObject().put("to", "home:test:plain").put("message", "nightly report").put("idempotencyKey", "t-3"));
      TestChannel.Shown report = plain.awaitText("home-g", "nightly report");
      assertThat(report.threadId()).isEqualTo("9");
    }
    awaitDelivered("t-1");
    assertThat(plain.chat("ops-room")).hasSize(1);
    long mirrored = ((Number) TestDatabases.scalar(db, db.workspaceSchema("w"), "SELECT COUNT(*) FROM session_events"
        + " WHERE type = 'assistant_note' AND payload LIKE '%deploy done%' AND payload LIKE '%\"mirrored\":true%'"))
        .longValue();
    assertThat(mirrored).isEqualTo(1);
  }

  static void awaitDelivered(String runId) {
    TestDatabases.awaitDelivered(db, db.workspaceSchema("w"), runId);
  }
}
