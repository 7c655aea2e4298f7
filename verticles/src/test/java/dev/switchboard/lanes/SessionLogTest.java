package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.support.TestDatabases;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The lane's session log numbers events without a query per append, without gaps, on H2 (PostgreSQL below). */
@Timeout(60)
class SessionLogTest {
  Vertx vertx;
  DatabaseConfig db;
  Pool pool;

  protected DatabaseConfig database() {
    return TestDatabases.h2();
  }

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    db = database();
    String schema = db.workspaceSchema("log");
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
  @DisplayName("appends fired together on one context are numbered 1..n without gaps; a new log continues after them")
  void gaplessNumbers() throws Exception {
    SessionStore sessions = new SessionStore(pool);
    EventStore events = new EventStore(pool);
    Session s = sessions.open("agent:main:main", "main", new JsonObject(), new JsonObject()).await(10, TimeUnit.SECONDS);
    SessionLog log = new SessionLog(pool, events, new HistoryCache(events, new SessionStore(pool), 10, 50));
    // the log is used from one context, as in the lane verticle
    List<Future<List<SessionEvent>>> appends = vertx.<List<Future<List<SessionEvent>>>>executeBlocking(() -> null)
        .compose(x -> vertx.getOrCreateContext().<List<Future<List<SessionEvent>>>>executeBlocking(() -> null))
        .map(x -> {
          List<Future<List<SessionEvent>>> out = new ArrayList<>();
          for (int i = 0; i < 40; i++) {
            out.add(log.append(s.id(), List.of(
                new SessionEvent.New(SessionEvent.USER_MESSAGE, "r" + i, new JsonObject().put("text", "m" + i)
                    .put("sender", new JsonObject().put("person", "p" + (i % 3)))),
                new SessionEvent.New(SessionEvent.AGENT_START, "r" + i, new JsonObject()))));
          }
          return out;
        }).await(10, TimeUnit.SECONDS);
    Future.all(appends).await(30, TimeUnit.SECONDS);
    List<SessionEvent> all = events.after(s.id(), 0, 1000).await(10, TimeUnit.SECONDS);
    assertThat(all).extracting(SessionEvent::seq).containsExactlyElementsOf(LongStream.rangeClosed(1, 80).boxed().toList());
    // the counters are updated with the events, in the same transactions
    TestDatabases.awaitValue(db, db.workspaceSchema("log"), "SELECT message_count FROM sessions WHERE id = '" + s.id() + "'", 40);
    assertThat(sessions.participants(s.id()).await(10, TimeUnit.SECONDS)).containsExactlyInAnyOrder("p0", "p1", "p2");
    // a fresh log (another process, a restart) continues after what is stored
    SessionLog fresh = new SessionLog(pool, events, new HistoryCache(events, new SessionStore(pool), 10, 50));
    List<SessionEvent> next = fresh.append(s.id(), List.of(new SessionEvent.New(SessionEvent.ASSISTANT_NOTE, null,
        new JsonObject().put("text", "later")))).await(10, TimeUnit.SECONDS);
    assertThat(next.get(0).seq()).isEqualTo(81);
  }

  @Test
  @DisplayName("a transaction rolled back with others in its batch leaves no gap and no lost event")
  void rollbackInBatch() throws Exception {
    SessionStore sessions = new SessionStore(pool);
    EventStore events = new EventStore(pool);
    Session a = sessions.open("agent:main:a", "main", new JsonObject(), new JsonObject()).await(10, TimeUnit.SECONDS);
    Session b = sessions.open("agent:main:b", "main", new JsonObject(), new JsonObject()).await(10, TimeUnit.SECONDS);
    SessionLog log = new SessionLog(pool, events, new HistoryCache(events, new SessionStore(pool), 10, 50));
    SessionEvent.New note = new SessionEvent.New(SessionEvent.ASSISTANT_NOTE, null, new JsonObject().put("text", "n"));
    List<Future<?>> all = vertx.getOrCreateContext().<List<Future<?>>>executeBlocking(() -> null)
        .map(x -> {
          List<Future<?>> out = new ArrayList<>();
          for (int i = 0; i < 5; i++) {
            out.add(log.append(a.id(), List.of(note)));
            // appends to b, then fails: its batch rolls back, b's numbers must be handed out again
            out.add(log.transaction(b.id(), c -> log.append(c, b.id(), List.of(note))
                .compose(stored -> c.query("SELECT no_such_column FROM sessions").execute())));
            out.add(log.append(b.id(), List.of(note)));
          }
          return out;
        }).await(10, TimeUnit.SECONDS);
    Future.join(all).otherwiseEmpty().await(30, TimeUnit.SECONDS);
    assertThat(all.stream().filter(Future::failed)).hasSize(5);
    assertThat(events.after(a.id(), 0, 100).await(10, TimeUnit.SECONDS)).extracting(SessionEvent::seq)
        .containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(events.after(b.id(), 0, 100).await(10, TimeUnit.SECONDS)).extracting(SessionEvent::seq)
        .containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(((Number) TestDatabases.scalar(db, db.workspaceSchema("log"), "SELECT message_count FROM sessions"
        + " WHERE id = '" + b.id() + "'")).longValue()).isEqualTo(5);
  }
}
