package dev.switchboard.routing;

import static dev.switchboard.support.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.PairingStore;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pairing rules on a clock the test moves: codes, the resend window, expiry, the pending cap, lockout. */
@Timeout(60)
class PairingTest {
  static final Pattern CODE = Pattern.compile("\\b([" + Pairing.ALPHABET + "]{8})\\b");

  /** A clock that moves only when told. */
  static final class TestClock extends Clock {
    Instant now = Instant.parse("2026-04-09T12:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  Vertx vertx;
  DatabaseConfig db;
  Pool pool;
  TestClock clock;
  Pairing pairing;
  List<JsonObject> sent;
  volatile boolean deliveryDown;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    String schema = db.workspaceSchema("p");
    Database.migrate(vertx, db, schema).await(30, TimeUnit.SECONDS);
    pool = Database.pool(vertx, db, schema);
    WorkspaceBus bus = new WorkspaceBus(vertx.eventBus(), "p");
    sent = new CopyOnWriteArrayList<>();
    bus.<JsonObject>consumer(DeliveryAddresses.SEND, m -> {
      if (deliveryDown) {
        m.fail(503, "down");
        return;
      }
      sent.add(m.body());
      m.reply(new JsonObject().put("obligationId", "o-" + sent.size()));
    }).completion().await(5, TimeUnit.SECONDS);
    clock = new TestClock();
    pairing = new Pairing(bus, new PairingStore(pool), clock);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
    TestDatabases.dropSchemas(db);
  }

  static Inbound dm(String sender) {
    return Inbound.from("telegram", "main").peer("direct", sender).sender(sender, "user " + sender)
        .platformMessageId(sender + ":1").text("hi").build();
  }

  /** Runs on a Vert.x context, as routing does. */
  <T> T onContext(java.util.function.Supplier<Future<T>> f) {
    io.vertx.core.Promise<T> p = io.vertx.core.Promise.promise();
    vertx.runOnContext(v -> f.get().onComplete(p));
    return await(p.future());
  }

  Pairing.Outcome challenge(String sender) {
    return onContext(() -> pairing.challenge(dm(sender), "k-" + sender + "-" + clock.now.toEpochMilli()));
  }

  static String code(JsonObject sent) {
    Matcher m = CODE.matcher(sent.getString("text"));
    assertThat(m.find()).as(sent.getString("text")).isTrue();
    return m.group(1);
  }

  @Test
  @DisplayName("codes are 8 characters from an alphabet without 0, O, 1 and I")
  void codes() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      String c = pairing.newCode();
      assertThat(c).hasSize(8).matches("[" + Pairing.ALPHABET + "]{8}").doesNotContain("0", "O", "1", "I");
      seen.add(c);
    }
    assertThat(seen).hasSize(2_000);
  }

  @Test
  @DisplayName("a code is sent to the chat; none again within 10 minutes; the same code after that; a new one after an hour")
  void resendWindowAndExpiry() {
    assertThat(challenge("5")).isEqualTo(Pairing.Outcome.CODE_SENT);
    assertThat(sent).hasSize(1);
    JsonObject first = sent.get(0);
    assertThat(first.getJsonObject("target").getString("peerId")).isEqualTo("5");
    assertThat(first.getJsonObject("target").getString("channel")).isEqualTo("telegram");
    String code = code(first);
    clock.advance(Duration.ofMinutes(9));
    assertThat(challenge("5")).isEqualTo(Pairing.Outcome.PENDING);
    assertThat(sent).hasSize(1);
    clock.advance(Duration.ofMinutes(2));
    assertThat(challenge("5")).isEqualTo(Pairing.Outcome.CODE_RESENT);
    assertThat(code(sent.get(1))).isEqualTo(code);
    clock.advance(Duration.ofMinutes(50));
    assertThat(challenge("5")).isEqualTo(Pairing.Outcome.CODE_SENT);
    assertThat(code(sent.get(2))).isNotEqualTo(code);
  }

  @Test
  @DisplayName("at most 3 codes pending per account, also when unknown senders write at the same moment")
  void pendingCap() throws Exception {
    List<Future<Pairing.Outcome>> all = new ArrayList<>();
    io.vertx.core.Promise<Void> started = io.vertx.core.Promise.promise();
    vertx.runOnContext(v -> {
      for (int i = 0; i < 6; i++) {
        all.add(pairing.challenge(dm("s" + i), "k" + i));
      }
      started.complete();
    });
    await(started.future());
    await(Future.join(all));
    assertThat(all.stream().map(Future::result).filter(o -> o == Pairing.Outcome.CODE_SENT)).hasSize(3);
    assertThat(all.stream().map(Future::result).filter(o -> o == Pairing.Outcome.FULL)).hasSize(3);
    assertThat(sent).hasSize(3);
    clock.advance(Duration.ofMinutes(61));
    assertThat(challenge("s5")).isEqualTo(Pairing.Outcome.CODE_SENT);
  }

  @Test
  @DisplayName("5 failed approvals lock the account's approvals for an hour; then the right code approves and the sender is told")
  void lockout() {
    challenge("7");
    String code = code(sent.get(0));
    for (int i = 1; i <= 4; i++) {
      assertThatThrownBy(() -> onContext(() -> pairing.approve("telegram", "main", "WRONG" + "AAA", "op")))
          .hasRootCauseInstanceOf(Pairing.Refused.class).hasMessageContaining("has this code");
    }
    assertThatThrownBy(() -> onContext(() -> pairing.approve("telegram", "main", "WRONGAAA", "op")))
        .hasMessageContaining("now locked");
    assertThatThrownBy(() -> onContext(() -> pairing.approve("telegram", "main", code, "op")))
        .hasMessageContaining("are locked after 5 failed attempts");
    assertThat(onContext(() -> pairing.isApproved(dm("7")))).isFalse();
    // the code expires with the lock; a fresh one is approved
    clock.advance(Duration.ofMinutes(61));
    challenge("7");
    String fresh = code(sent.get(1));
    PairingStore.Request r = onContext(() -> pairing.approve("telegram", "main", " " + fresh.toLowerCase() + " ", "op"));
    assertThat(r.senderId()).isEqualTo("7");
    assertThat(onContext(() -> pairing.isApproved(dm("7")))).isTrue();
    assertThat(sent.get(2).getString("text")).contains("approved");
    assertThat(sent.get(2).getJsonObject("target").getString("peerId")).isEqualTo("7");
  }

  @Test
  @DisplayName("a code that could not be queued for delivery is withdrawn: the next message tries again at once")
  void undeliveredCodeIsWithdrawn() {
    deliveryDown = true;
    assertThatThrownBy(() -> challenge("9")).isInstanceOf(AssertionError.class);
    deliveryDown = false;
    assertThat(challenge("9")).isEqualTo(Pairing.Outcome.CODE_SENT);
  }
}
