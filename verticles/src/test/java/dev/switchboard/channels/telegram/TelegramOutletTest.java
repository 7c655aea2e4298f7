package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.Secret;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.support.TelegramStandIn;
import dev.switchboard.support.TelegramStandIn.Bot;
import dev.switchboard.support.TelegramStandIn.Fault;
import dev.switchboard.support.TelegramStandIn.Incoming;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.HttpClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Delivery's operations against the Bot API stand-in: Telegram's answers mapped to delivery's codes, cooldowns. */
@Timeout(60)
class TelegramOutletTest {
  static int accounts;
  Vertx vertx;
  TelegramStandIn api;
  Bot bot;
  HttpClient client;
  String address;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    api = new TelegramStandIn(vertx);
    bot = api.bot("8001:AAoutlet", 8001, "outlet_bot");
    for (long chat : new long[] {1, 2, 3, 4}) {
      bot.receive(Incoming.dm(chat, "user" + chat, "hi"));
    }
  }

  void outlet(String apiUrl, String replyToMode) {
    TelegramAccount account = new TelegramAccount("t" + ++accounts, "test", Secret.of(bot.token, "test"), apiUrl, false, false,
        0, (URI) null, null, replyToMode, true, 1000, true, 4000, TelegramAccount.defaultCommands(), 1_000);
    client = vertx.createHttpClient();
    TelegramOutlet outlet = new TelegramOutlet(vertx, account, new BotApi(client, apiUrl, account.token()));
    address = "outlet-" + accounts;
    try {
      vertx.eventBus().<JsonObject>localConsumer(address, outlet::handle).completion().await(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void stop() throws Exception {
    api.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static ReplyTarget chat(long id, Long replyTo) {
    return new ReplyTarget("telegram", "t", "direct", String.valueOf(id), null, replyTo == null ? null : id + ":" + replyTo);
  }

  /** The receipt's message id, or {@code "<code>: <message>"} for a failure. */
  String call(String op, ReplyTarget target, int chunk, String text, String format, String messageId) {
    ChannelOutlet.Request r = new ChannelOutlet.Request(op, "o-1", "run-1", target, chunk, 2, text, format, messageId,
        false, 1, new JsonObject());
    try {
      return vertx.eventBus().<JsonObject>request(address, r.toJson()).await(10, TimeUnit.SECONDS).body()
          .getString("messageId");
    } catch (ReplyException e) {
      return e.failureCode() + ": " + e.getMessage();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("send in HTML, quoting the user's message on the first chunk only; an unchanged edit is a success; a gone message is 404")
  void sendEditDelete() {
    outlet(api.url(), "first");
    String first = call(ChannelOutlet.SEND, chat(1, 1L), 0, "<b>hi</b>", "html", null);
    String second = call(ChannelOutlet.SEND, chat(1, 1L), 1, "there", "html", null);
    assertThat(bot.botMessages(1)).extracting(s -> s.replyToMessageId).containsExactly(1L, null);
    assertThat(bot.botMessages(1).get(0).text()).isEqualTo("hi");
    assertThat(call(ChannelOutlet.EDIT, chat(1, null), 0, "<b>hi</b>", "html", first)).isEqualTo(first);
    assertThat(call(ChannelOutlet.EDIT, chat(1, null), 0, "<b>hi!</b>", "html", first)).isEqualTo(first);
    assertThat(bot.botMessages(1).get(0).versions()).containsExactly("hi", "hi!");
    assertThat(call(ChannelOutlet.DELETE, chat(1, null), 0, "", "html", second)).isEqualTo(second);
    assertThat(call(ChannelOutlet.EDIT, chat(1, null), 0, "x", "html", second)).startsWith("404: ");
    assertThat(call(ChannelOutlet.DELETE, chat(1, null), 0, "", "html", "999")).startsWith("404: ");
    assertThat(call(ChannelOutlet.RECONCILE, chat(1, null), 0, "", "html", null)).startsWith("501: ");
  }

  @Test
  @DisplayName("refused formatting is 422 only for HTML; a blocked user or a missing chat is refused for good (400)")
  void refusals() {
    outlet(api.url(), "off");
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "<x>", "html", null))
        .startsWith("422: send to 1: Bad Request: can't parse entities: Unsupported start tag \"x\"");
    bot.inject("sendMessage", Fault.error(403, "Forbidden: bot was blocked by the user"));
    assertThat(call(ChannelOutlet.SEND, chat(2, null), 0, "hi", "plain", null)).startsWith("400: ");
    assertThat(call(ChannelOutlet.SEND, chat(77, null), 0, "hi", "plain", null))
        .isEqualTo("400: send to 77: Bad Request: chat not found");
    bot.inject("sendMessage", Fault.error(502, "Bad Gateway"));
    assertThat(call(ChannelOutlet.SEND, chat(2, null), 0, "hi", "plain", null)).startsWith("503: ");
  }

  @Test
  @DisplayName("no answer after the request left (a timeout, a reset) is an unknown outcome (504); a refused connection is not sent (503)")
  void unknownOutcomes() {
    outlet(api.url(), "off");
    bot.inject("sendMessage", Fault.timeoutAfter());
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "slow", "plain", null)).startsWith("504: ");
    // read, then reset without effect: the sender cannot tell that from a reset after the effect
    bot.inject("sendMessage", Fault.resetBefore());
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "reset", "plain", null)).startsWith("504: ");
    bot.inject("sendMessage", Fault.resetAfter());
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "reset after", "plain", null)).startsWith("504: ");
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "fine", "plain", null)).matches("\\d+");
    int sent = bot.calls("sendMessage").size();
    api.refuseConnections();
    String refused = call(ChannelOutlet.SEND, chat(1, null), 0, "refused", "plain", null);
    api.acceptConnections();
    assertThat(refused).startsWith("503: ").doesNotContain(bot.token);
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "back", "plain", null)).matches("\\d+");
    // the refused send never reached Telegram, not even once the connections were back
    assertThat(bot.calls("sendMessage")).hasSize(sent + 1);
    assertThat(bot.calls("sendMessage").get(sent).params().getString("text")).isEqualTo("back");
    outlet("http://127.0.0.1:1", "off");
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "nowhere", "plain", null)).startsWith("503: ")
        .doesNotContain(bot.token);
  }

  @Test
  @DisplayName("a request the connection broke under before it was written out whole is not sent (503)")
  void brokenBeforeWritten() throws Exception {
    // a peer that resets the connection at the first bytes it gets; the request is far larger than
    // what the sockets between can hold, so it cannot have been written out whole
    NetServer peer = vertx.createNetServer(new NetServerOptions().setSoLinger(0))
        .connectHandler(socket -> socket.handler(buf -> socket.close()))
        .listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    try {
      outlet("http://127.0.0.1:" + peer.actualPort(), "off");
      String huge = "x".repeat(24 * 1024 * 1024);
      assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, huge, "plain", null)).startsWith("503: ")
          .doesNotContain(bot.token);
    } finally {
      peer.close().await(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a 429 cools its chat down for retry_after without calling Telegram; 429s in two chats cool every chat")
  void cooldowns() {
    outlet(api.url(), "off");
    bot.inject("sendMessage", Fault.tooManyRequests(3));
    assertThat(call(ChannelOutlet.SEND, chat(1, null), 0, "a", "plain", null)).endsWith("retryAfterMs=3000");
    int calls = bot.calls("sendMessage").size();
    String again = call(ChannelOutlet.SEND, chat(1, null), 0, "b", "plain", null);
    assertThat(again).startsWith("429: cooling down").containsPattern("retryAfterMs=\\d+");
    assertThat(Long.parseLong(again.replaceAll(".*retryAfterMs=", ""))).isBetween(1L, 3000L);
    assertThat(bot.calls("sendMessage")).hasSize(calls);
    // another chat is not limited by chat 1's cooldown
    assertThat(call(ChannelOutlet.SEND, chat(2, null), 0, "c", "plain", null)).matches("\\d+");
    // a second chat limited while the first still cools: the bot as a whole is over the limit
    bot.inject("sendMessage", Fault.tooManyRequests(3));
    assertThat(call(ChannelOutlet.SEND, chat(2, null), 0, "d", "plain", null)).endsWith("retryAfterMs=3000");
    calls = bot.calls("sendMessage").size();
    assertThat(call(ChannelOutlet.SEND, chat(3, null), 0, "e", "plain", null)).startsWith("429: cooling down");
    assertThat(bot.calls("sendMessage")).hasSize(calls);
  }
}
