package dev.switchboard.store;

import static dev.switchboard.support.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.TestDatabases;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stores on H2; {@link StorePostgresTest} runs the same tests on PostgreSQL. */
@Timeout(60)
class StoreTest {
  Vertx vertx;
  DatabaseConfig db;
  Pool pool;
  String schema;

  protected DatabaseConfig database() {
    return TestDatabases.h2();
  }

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    db = database();
    schema = db.workspaceSchema("store");
    Database.migrate(vertx, db, schema).await(30, TimeUnit.SECONDS);
    pool = Database.pool(vertx, db, schema);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
    TestDatabases.dropSchemas(db);
  }

  @Test
  @DisplayName("a statement after a transaction is committed: visible to another connection at once")
  void autoCommitAfterTransaction() throws Exception {
    SessionStore sessions = new SessionStore(pool);
    Session s = await(sessions.open("agent:main:main", "main", new JsonObject(), new JsonObject()));
    // run enough transactions that every pooled connection has been through one
    for (int i = 0; i < db.poolSize() * 2; i++) {
      await(pool.withTransaction(c -> c.preparedQuery("UPDATE sessions SET turn_count = turn_count WHERE id = ?")
          .execute(Tuple.of(s.id()))));
    }
    for (int i = 0; i < db.poolSize() * 2; i++) {
      await(sessions.setStatus(s.id(), "idle-" + i));
      Object seen = TestDatabases.scalar(db, schema, "SELECT status FROM sessions WHERE id = '" + s.id() + "'");
      assertThat(seen).isEqualTo("idle-" + i);
    }
  }

  @Test
  @DisplayName("each turn's usage is summed per session key and per workspace; unpriced turns are counted apart")
  void usageTotals() {
    SessionStore sessions = new SessionStore(pool);
    EventStore events = new EventStore(pool);
    Session a = await(sessions.open("agent:main:a", "main", new JsonObject(), new JsonObject()));
    Session b = await(sessions.open("agent:main:b", "main", new JsonObject(), new JsonObject()));
    Session a2 = await(sessions.roll("agent:main:a", "main", new JsonObject(), new JsonObject()));
    JsonObject usage = new JsonObject().put("input", 1_000).put("output", 200).put("cacheRead", 300);
    await(append(events, a.id(), List.of(new SessionEvent.New(SessionEvent.AGENT_END, "r1", new JsonObject()
        .put("status", "ok").put("usage", usage).put("costUsd", 0.0012345).put("steps", 2)))));
    await(append(events, a2.id(), List.of(new SessionEvent.New(SessionEvent.AGENT_END, "r2", new JsonObject()
        .put("status", "error").put("usage", usage).put("costUsd", 0.001).put("steps", 1)))));
    // a turn on a model without pricing: tokens count, its cost is unknown
    await(append(events, b.id(), List.of(new SessionEvent.New(SessionEvent.AGENT_END, "r3", new JsonObject()
        .put("status", "ok").put("usage", new JsonObject().put("input", 10).put("output", 5)).putNull("costUsd")
        .put("steps", 1)))));

    UsageTotals all = await(sessions.usageTotals());
    assertThat(all).isEqualTo(new UsageTotals(2_010, 405, 600, 2_234_500, 1, 4, 2));
    assertThat(all.toJson().getDouble("costUsd")).isEqualTo(0.0022345);
    assertThat(all.toJson().getBoolean("costComplete")).isFalse();
    // one key over both of its sessions (/new rolled it)
    assertThat(await(sessions.usageOfKey("agent:main:a"))).isEqualTo(new UsageTotals(2_000, 400, 600, 2_234_500, 0, 3, 1));
    assertThat(await(sessions.usageOf(a2.id())).inputTokens()).isEqualTo(1_000);
    List<JsonObject> byKey = await(sessions.usageByKey(10));
    assertThat(byKey).extracting(j -> j.getString("sessionKey")).containsExactly("agent:main:a", "agent:main:b");
    assertThat(byKey.get(1).getJsonObject("usage").getLong("unpricedTurns")).isEqualTo(1L);
    // several keys at once (status's recent sessions); a key without sessions is left out
    assertThat(await(sessions.usageOfKeys(List.of("agent:main:a", "agent:main:b", "agent:main:none"))))
        .containsOnlyKeys("agent:main:a", "agent:main:b")
        .containsEntry("agent:main:a", new UsageTotals(2_000, 400, 600, 2_234_500, 0, 3, 1))
        .containsEntry("agent:main:b", new UsageTotals(10, 5, 0, 0, 1, 1, 1));
    assertThat(await(sessions.usageOfKeys(List.of()))).isEmpty();
  }

  /** Stores events the simple way: next number, insert, then the session row (as the lane does, in one go). */
  Future<List<SessionEvent>> append(EventStore events, String sessionId, List<SessionEvent.New> list) {
    return events.nextSeq(sessionId).compose(next -> events.insertAt(pool, sessionId, next, list))
        .compose(stored -> events.touch(pool, sessionId, stored, List.of()).map(v -> stored));
  }

  @Test
  @DisplayName("a number taken twice in one session is refused; touch keeps the session row's counters and participants")
  void eventNumbersAreUnique() {
    SessionStore sessions = new SessionStore(pool);
    EventStore events = new EventStore(pool);
    Session s = await(sessions.open("agent:main:main", "main", new JsonObject(), new JsonObject()));
    List<SessionEvent> stored = await(events.insertAt(pool, s.id(), 1, List.of(
        new SessionEvent.New(SessionEvent.USER_MESSAGE, "r1", new JsonObject().put("text", "hi")
            .put("sender", new JsonObject().put("person", "ann"))),
        new SessionEvent.New(SessionEvent.AGENT_START, "r1", new JsonObject()))));
    Throwable taken = events.insertAt(pool, s.id(), 2, List.of(new SessionEvent.New(SessionEvent.ERROR, "r1",
        new JsonObject()))).map(x -> (Throwable) null).otherwise(t -> t).toCompletionStage().toCompletableFuture().join();
    assertThat(taken).isNotNull();
    await(events.touch(pool, s.id(), stored, List.of("ann")));
    Session after = await(sessions.find(s.id()));
    assertThat(after.lastSeq()).isEqualTo(2);
    assertThat(after.messageCount()).isEqualTo(1);
    assertThat(after.status()).isEqualTo(Session.RUNNING);
    assertThat(after.description()).isEqualTo("hi");
    assertThat(await(events.nextSeq(s.id()))).isEqualTo(3);
    assertThat(await(sessions.participants(s.id()))).containsExactly("ann");
  }

  @Test
  @DisplayName("two opens of a new key race to one session; roll keeps the key and moves it to a new session")
  void sessionHeads() {
    SessionStore sessions = new SessionStore(pool);
    List<Future<Session>> opens = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      opens.add(sessions.open("agent:main:race", "main", new JsonObject().put("n", i), new JsonObject()));
    }
    await(Future.all(opens));
    assertThat(opens.stream().map(f -> f.result().id()).distinct()).hasSize(1);
    String first = opens.get(0).result().id();
    Session rolled = await(sessions.roll("agent:main:race", "main", new JsonObject(), new JsonObject()));
    assertThat(rolled.id()).isNotEqualTo(first);
    assertThat(await(sessions.head("agent:main:race")).id()).isEqualTo(rolled.id());
    assertThat(await(sessions.find(first))).isNotNull();
    assertThat(await(sessions.count(null))).isEqualTo(2);
    assertThat(await(sessions.countHeads(null))).isEqualTo(1);
  }

  @Test
  @DisplayName("reopening a session keeps its original source and merges new metadata; nothing new writes nothing")
  void reopenKeepsSourceMergesMetadata() {
    SessionStore sessions = new SessionStore(pool);
    JsonObject source = new JsonObject().put("kind", "channel").put("platform", "telegram").put("type", "direct")
        .put("triggerId", "r1");
    Session opened = await(sessions.open("agent:main:direct:ann", "main", source, new JsonObject()
        .put("channel", "telegram").put("peer", new JsonObject().put("kind", "direct").put("id", "1"))));
    Session reopened = await(sessions.open("agent:main:direct:ann", "main", new JsonObject().put("kind", "api"),
        new JsonObject().put("channel", "slack").put("topic", "7")));
    assertThat(reopened.id()).isEqualTo(opened.id());
    assertThat(reopened.source()).isEqualTo(source);
    assertThat(reopened.metadata()).isEqualTo(new JsonObject().put("channel", "slack")
        .put("peer", new JsonObject().put("kind", "direct").put("id", "1")).put("topic", "7"));
    // metadata it already holds: nothing changes
    await(sessions.open("agent:main:direct:ann", "main", source, new JsonObject().put("channel", "slack")));
    assertThat(await(sessions.find(opened.id())).metadata()).isEqualTo(reopened.metadata());
    assertThat(SessionStore.containsAll(reopened.metadata(), new JsonObject().put("topic", "7"))).isTrue();
    assertThat(SessionStore.containsAll(reopened.metadata(), new JsonObject().put("topic", "8"))).isFalse();
  }

  @Test
  @DisplayName("only a direct session that is not running is deleted, with its events; group sessions are kept")
  void deleteRules() {
    SessionStore sessions = new SessionStore(pool);
    EventStore events = new EventStore(pool);
    Session group = await(sessions.open("agent:main:telegram:group:-1", "main", new JsonObject().put("type", "group"),
        new JsonObject()));
    Session running = await(sessions.open("agent:main:direct:bob", "main", new JsonObject().put("type", "direct"),
        new JsonObject()));
    Session idle = await(sessions.open("agent:main:direct:ann", "main", new JsonObject().put("type", "direct"),
        new JsonObject()));
    await(append(events, idle.id(), List.of(new SessionEvent.New(SessionEvent.USER_MESSAGE, "r1",
        new JsonObject().put("text", "hi").put("sender", new JsonObject().put("person", "ann"))))));
    await(sessions.setStatus(running.id(), Session.RUNNING));

    assertThat(await(sessions.deleteDirect(group.id()))).isFalse();
    assertThat(await(sessions.deleteDirect(running.id()))).isFalse();
    assertThat(await(sessions.find(group.id()))).isNotNull();
    assertThat(await(sessions.find(running.id()))).isNotNull();
    assertThat(await(sessions.deleteDirect(idle.id()))).isTrue();
    assertThat(await(sessions.find(idle.id()))).isNull();
    assertThat(await(sessions.head("agent:main:direct:ann"))).isNull();
    assertThat(await(events.messages(idle.id(), 10))).isEmpty();
    assertThat(TestDatabases.scalar(db, schema, "SELECT COUNT(*) FROM session_participants WHERE session_id = '"
        + idle.id() + "'")).isEqualTo(0L);
    assertThat(await(sessions.deleteDirect(idle.id()))).isFalse();
  }

  @Test
  @DisplayName("an inbound message is stored once per platform id; a replay is found, not stored again")
  void inboundDedupe() {
    InboundStore inbound = new InboundStore(pool);
    InboundRecord a = await(inbound.accept("telegram", "bot", "m-1", "run-1", new JsonObject().put("text", "hi")));
    InboundRecord b = await(inbound.accept("telegram", "bot", "m-1", "run-2", new JsonObject().put("text", "hi")));
    assertThat(a.duplicate()).isFalse();
    assertThat(b.duplicate()).isTrue();
    assertThat(b.id()).isEqualTo(a.id());
    assertThat(b.runId()).isEqualTo("run-1");
    assertThat(await(inbound.unfinished(Instant.now(), null, 10))).hasSize(1);
    await(inbound.finish(a.id(), InboundRecord.DONE));
    assertThat(await(inbound.unfinished(Instant.now(), null, 10))).isEmpty();
  }

  @Test
  @DisplayName("the unfinished messages are read page by page, oldest first, none skipped when earlier ones finish meanwhile")
  void unfinishedPages() {
    InboundStore inbound = new InboundStore(pool);
    List<InboundRecord> accepted = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      accepted.add(await(inbound.accept("telegram", "bot", "m-" + i, "run-" + i, new JsonObject())));
    }
    await(inbound.finish(accepted.get(1).id(), InboundRecord.DONE));
    await(inbound.finish(accepted.get(2).id(), InboundRecord.REFUSED));
    Instant cutoff = Instant.now();
    // accepted after the cutoff: not part of this replay
    InboundRecord late = await(inbound.accept("telegram", "bot", "m-late", "run-late", new JsonObject()));
    assertThat(await(inbound.lastUnfinishedAt())).isAfterOrEqualTo(cutoff.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    List<String> seen = new ArrayList<>();
    InboundRecord after = null;
    while (true) {
      List<InboundRecord> page = await(inbound.unfinished(cutoff, after, 2));
      if (page.isEmpty()) {
        break;
      }
      page.forEach(r -> seen.add(r.runId()));
      // the page's messages finish before the next page is read, as a replay's may
      for (InboundRecord r : page) {
        await(inbound.finish(r.id(), InboundRecord.DONE));
      }
      after = page.get(page.size() - 1);
    }
    assertThat(seen).containsExactly("run-0", "run-3", "run-4", "run-5", "run-6");
    await(inbound.finish(late.id(), InboundRecord.DONE));
    assertThat(await(inbound.lastUnfinishedAt())).isNull();
  }

  @Test
  @DisplayName("a message several agents share is done only when every share is, even when two finish at once")
  void inboundShares() {
    InboundStore inbound = new InboundStore(pool);
    InboundRecord one = await(inbound.accept("forum", "default", "b-1", "b1", new JsonObject()));
    java.util.Map<String, String> shares = new java.util.LinkedHashMap<>();
    shares.put("b1#alpha", "alpha");
    shares.put("b1#beta", "beta");
    await(inbound.addShares(one.id(), shares));
    // recorded again after a restart: what finished stays finished
    await(pool.withTransaction(c -> inbound.finishShare(c, one.id(), "b1#alpha", InboundRecord.DONE, "k", "s")));
    await(inbound.addShares(one.id(), shares));
    assertThat(await(inbound.finishedShares(one.id()))).containsExactly("b1#alpha");
    assertThat(status(one.id())).isEqualTo(InboundRecord.RECEIVED);
    await(pool.withTransaction(c -> inbound.finishShare(c, one.id(), "b1#beta", InboundRecord.DONE, "k2", "s2")));
    assertThat(status(one.id())).isEqualTo(InboundRecord.DONE);
    assertThat(TestDatabases.scalar(db, schema, "SELECT session_key FROM inbound WHERE id = '" + one.id() + "'"))
        .isEqualTo("k");

    // two shares finishing in two transactions at the same moment: the second waits for the first
    for (int round = 0; round < 10; round++) {
      InboundRecord m = await(inbound.accept("forum", "default", "p-" + round, "p" + round, new JsonObject()));
      java.util.Map<String, String> pair = new java.util.LinkedHashMap<>();
      pair.put("p#alpha", "alpha");
      pair.put("p#beta", "beta");
      await(inbound.addShares(m.id(), pair));
      Future<Void> a = pool.withTransaction(c -> inbound.finishShare(c, m.id(), "p#alpha", InboundRecord.DONE, "k", "s"));
      Future<Void> b = pool.withTransaction(c -> inbound.finishShare(c, m.id(), "p#beta", InboundRecord.DONE, "k", "s"));
      await(Future.all(a, b));
      assertThat(status(m.id())).as("round %d", round).isEqualTo(InboundRecord.DONE);
    }
  }

  String status(String inboundId) {
    return (String) TestDatabases.scalar(db, schema, "SELECT status FROM inbound WHERE id = '" + inboundId + "'");
  }

  @Test
  @DisplayName("an obligation is claimed once, delivered once, and retried only when due")
  void outboxStates() {
    OutboxStore outbox = new OutboxStore(pool);
    Obligation o = Obligation.create("run", "sess", "webchat", "default", new JsonObject(), new JsonObject().put("text", "x"));
    await(pool.withTransaction(c -> outbox.insert(c, o)));
    Instant now = Instant.now().plusSeconds(1);
    assertThat(await(outbox.claim(o.id(), now, "p1"))).isTrue();
    assertThat(await(outbox.claim(o.id(), now, "p1"))).isFalse();
    assertThat(await(outbox.retryAt(o.id(), "p1", now.plusSeconds(60), "429", false))).isTrue();
    assertThat(await(outbox.due(now, 10, List.of()))).isEmpty();
    assertThat(await(outbox.claim(o.id(), now, "p1"))).isFalse();
    assertThat(await(outbox.due(now.plusSeconds(61), 10, List.of()))).hasSize(1);
    assertThat(await(outbox.claim(o.id(), now.plusSeconds(61), "p1"))).isTrue();
    assertThat(await(outbox.delivered(o.id(), "p1", new JsonArray().add("p1")))).isTrue();
    assertThat(await(outbox.delivered(o.id(), "p1", new JsonArray().add("p2")))).isFalse();
    // a delivered obligation never turns failed afterwards
    assertThat(await(outbox.fail(o.id(), "p1", Obligation.FAILED, "late"))).isFalse();
    Obligation done = await(outbox.find(o.id()));
    assertThat(done.status()).isEqualTo(Obligation.DELIVERED);
    assertThat(done.attempts()).isEqualTo(2);
    assertThat(done.receipts()).containsExactly("p1");
    assertThat(done.lastError()).isNull();
  }

  @Test
  @DisplayName("only the claim's owner moves an obligation out of sending; a starting process takes over only others' claims")
  void outboxOwnership() {
    OutboxStore outbox = new OutboxStore(pool);
    Obligation a = Obligation.create("run-a", "sess", "webchat", "default", new JsonObject(), new JsonObject().put("text", "a"));
    Obligation b = Obligation.create("run-b", "sess", "webchat", "default", new JsonObject(), new JsonObject().put("text", "b"));
    Obligation pending = Obligation.create("run-c", "sess", "webchat", "default", new JsonObject(), new JsonObject());
    await(pool.withTransaction(c -> outbox.insert(c, a).compose(x -> outbox.insert(c, b)).compose(x -> outbox.insert(c, pending))));
    Instant now = Instant.now().plusSeconds(1);
    assertThat(await(outbox.claim(a.id(), now, "old"))).isTrue();
    assertThat(await(outbox.claim(b.id(), now, "new"))).isTrue();
    // nobody but the owner ends, retries or records progress of a claim
    assertThat(await(outbox.fail(a.id(), "new", Obligation.FAILED, "not mine"))).isFalse();
    assertThat(await(outbox.delivered(a.id(), "new", new JsonArray().add("x")))).isFalse();
    assertThat(await(outbox.retryAt(a.id(), "new", now, "not mine", false))).isFalse();
    assertThat(await(outbox.progress(a.id(), "new", new JsonArray().add("x"), false, true))).isFalse();
    // failing a pending obligation (never claimed) is refused too
    assertThat(await(outbox.fail(pending.id(), "new", Obligation.FAILED, "never claimed"))).isFalse();
    assertThat(await(outbox.find(pending.id())).status()).isEqualTo(Obligation.PENDING);
    assertThat(await(outbox.find(a.id())).status()).isEqualTo(Obligation.SENDING);
    assertThat(await(outbox.find(a.id())).receipts()).isEmpty();

    // "new" starts up: it takes over what "old" left in sending, and leaves its own claim alone
    assertThat(await(outbox.recoverSending("new"))).isEqualTo(1);
    Obligation recovered = await(outbox.find(a.id()));
    assertThat(recovered.status()).isEqualTo(Obligation.PENDING);
    assertThat(recovered.reconcile()).isTrue();
    assertThat(await(outbox.find(b.id())).status()).isEqualTo(Obligation.SENDING);
    // the old owner's late outcome changes nothing
    assertThat(await(outbox.delivered(a.id(), "old", new JsonArray().add("late")))).isFalse();
    assertThat(await(outbox.find(a.id())).status()).isEqualTo(Obligation.PENDING);
    assertThat(await(outbox.fail(b.id(), "new", Obligation.AMBIGUOUS, "unknown"))).isTrue();
    assertThat(await(outbox.find(b.id())).status()).isEqualTo(Obligation.AMBIGUOUS);
  }

  @Test
  @DisplayName("due obligations leave out the channel accounts still waiting for their adapter; none waiting gives all")
  void outboxDuePerAccount() {
    OutboxStore outbox = new OutboxStore(pool);
    Obligation t = Obligation.create("run-t", "sess", "telegram", "bot", new JsonObject(), new JsonObject());
    Obligation h = Obligation.create("run-h", "sess", "http", "bot", new JsonObject(), new JsonObject());
    await(pool.withTransaction(c -> outbox.insert(c, t).compose(x -> outbox.insert(c, h))));
    Instant now = Instant.now().plusSeconds(1);
    assertThat(await(outbox.due(now, 10, List.of(java.util.Map.entry("telegram", "bot")))))
        .extracting(Obligation::id).containsExactly(h.id());
    assertThat(await(outbox.due(now, 10, List.of(java.util.Map.entry("http", "bot"), java.util.Map.entry("telegram", "bot")))))
        .isEmpty();
    assertThat(await(outbox.due(now, 10, List.of(java.util.Map.entry("telegram", "other"))))).hasSize(2);
    assertThat(await(outbox.due(now, 10, List.of()))).hasSize(2);
  }


  @Test
  @DisplayName("memory search matches every term, case-insensitively, and treats % and _ literally")
  void memorySearch() {
    MemoryStore memory = new MemoryStore(pool);
    await(memory.write("main", "fact", "Alice prefers Tea in the morning", new JsonArray(), null));
    await(memory.write("main", "fact", "Bob prefers coffee", new JsonArray(), null));
    await(memory.write("main", "fact", "discount is 100% off", new JsonArray(), null));
    await(memory.write("other", "fact", "Alice prefers tea (other agent)", new JsonArray(), null));
    assertThat(await(memory.search("main", "alice TEA", 10))).extracting(MemoryEntry::text)
        .containsExactly("Alice prefers Tea in the morning");
    assertThat(await(memory.search("main", "prefers", 10))).hasSize(2);
    assertThat(await(memory.search("main", "0%", 10))).hasSize(1);
    assertThat(await(memory.search("main", "_", 10))).isEmpty();
  }

  @Test
  @DisplayName("channel state: absent, set, replaced; per channel, account and name")
  void channelState() {
    ChannelStateStore state = new ChannelStateStore(pool);
    assertThat(await(state.get("telegram", "main", "offset"))).isNull();
    await(state.put("telegram", "main", "offset", "1001"));
    await(state.put("telegram", "main", "offset", "1005"));
    await(state.put("telegram", "other", "offset", "7"));
    assertThat(await(state.get("telegram", "main", "offset"))).isEqualTo("1005");
    assertThat(await(state.get("telegram", "other", "offset"))).isEqualTo("7");
    assertThat(await(state.get("telegram", "main", "commandsHash"))).isNull();
  }

  @Test
  @DisplayName("pairing: one request per sender, codes unique per account, expiry, approval in one step, lockout after failures")
  void pairing() {
    PairingStore store = new PairingStore(pool);
    Instant now = Instant.parse("2026-04-09T10:00:00Z");
    JsonObject target = new JsonObject().put("channel", "telegram").put("peerId", "5");
    PairingStore.Request r = new PairingStore.Request("telegram", "main", "5", "Eve", "ABCD2345", target, now,
        now.plusSeconds(3600), now);
    assertThat(await(store.insert(r))).isTrue();
    assertThat(await(store.insert(new PairingStore.Request("telegram", "main", "5", null, "WXYZ6789", target, now,
        now.plusSeconds(3600), now)))).as("same sender").isFalse();
    assertThat(await(store.insert(new PairingStore.Request("telegram", "main", "6", null, "ABCD2345", target, now,
        now.plusSeconds(3600), now)))).as("same code").isFalse();
    assertThat(await(store.insert(new PairingStore.Request("telegram", "other", "6", null, "ABCD2345", target, now,
        now.plusSeconds(60), now)))).as("same code, other account").isTrue();
    assertThat(await(store.pending("telegram", "main", "5", now)).senderName()).isEqualTo("Eve");
    assertThat(await(store.countPending("telegram", "main", now))).isEqualTo(1);
    assertThat(await(store.countPending("telegram", "other", now.plusSeconds(61)))).isZero();
    await(store.purgeExpired("telegram", "other", now.plusSeconds(61)));
    assertThat(await(store.listPending(now))).extracting(PairingStore.Request::accountId).containsExactly("main");

    assertThat(await(store.approve("telegram", "main", "WRONG123", "op", now))).isNull();
    PairingStore.Request approved = await(store.approve("telegram", "main", "ABCD2345", "op", now));
    assertThat(approved.senderId()).isEqualTo("5");
    assertThat(approved.target()).isEqualTo(target);
    assertThat(await(store.isApproved("telegram", "main", "5"))).isTrue();
    assertThat(await(store.isApproved("telegram", "other", "5"))).isFalse();
    assertThat(await(store.pending("telegram", "main", "5", now))).isNull();
    assertThat(await(store.approvals())).extracting(PairingStore.Approval::approvedBy).containsExactly("op");

    for (int i = 1; i < 5; i++) {
      assertThat(await(store.failed("telegram", "main", 5, now.plusSeconds(3600), now)).locked(now)).isFalse();
    }
    PairingStore.Lockout locked = await(store.failed("telegram", "main", 5, now.plusSeconds(3600), now));
    assertThat(locked.locked(now)).isTrue();
    assertThat(await(store.lockout("telegram", "main")).locked(now.plusSeconds(3599))).isTrue();
    assertThat(await(store.lockout("telegram", "main")).locked(now.plusSeconds(3600))).isFalse();
    assertThat(await(store.revoke("telegram", "main", "5"))).isTrue();
    assertThat(await(store.revoke("telegram", "main", "5"))).isFalse();
    assertThat(await(store.isApproved("telegram", "main", "5"))).isFalse();
  }
}
