package dev.switchboard.lanes;

import static dev.switchboard.support.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.support.TestDatabases;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bounded history cache against a real store: at most N sessions × M messages in memory, the
 * least recently used session dropped first, everything else read from the store.
 */
@Timeout(60)
class HistoryCacheTest {
  Vertx vertx;
  DatabaseConfig db;
  Pool pool;
  EventStore events;
  SessionStore sessions;
  HistoryCache cache;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    String schema = db.workspaceSchema("cache");
    Database.migrate(vertx, db, schema).await(30, TimeUnit.SECONDS);
    pool = Database.pool(vertx, db, schema);
    events = new EventStore(pool);
    sessions = new SessionStore(pool);
    cache = new HistoryCache(events, sessions, 2, 3);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
    TestDatabases.dropSchemas(db);
  }

  String session(String key) {
    return await(sessions.open(key, "main", new JsonObject(), new JsonObject())).id();
  }

  /** Stores a user message; {@code tellCache}: as the lane does, which keeps the cache current. */
  void store(String sessionId, String text, boolean tellCache) {
    List<SessionEvent> stored = await(events.nextSeq(sessionId).compose(next -> events.insertAt(pool, sessionId, next,
        List.of(new SessionEvent.New(SessionEvent.USER_MESSAGE, null, new JsonObject().put("text", text))))));
    if (tellCache) {
      cache.stored(stored);
    }
  }

  List<String> recent(String sessionId, int limit) {
    return await(cache.recent(sessionId, limit)).stream().map(e -> e.payload().getString("text")).toList();
  }

  @Test
  @DisplayName("each cached session keeps only its newest messages; new ones join it as they are stored")
  void trimsPerSession() {
    String a = session("agent:main:a");
    for (int i = 1; i <= 5; i++) {
      store(a, "a" + i, true);
    }
    assertThat(recent(a, 3)).containsExactly("a3", "a4", "a5");
    store(a, "a6", true);
    store(a, "a7", true);
    assertThat(recent(a, 3)).containsExactly("a5", "a6", "a7");
    assertThat(recent(a, 2)).containsExactly("a6", "a7");
    // more than the cache holds per session: read from the store
    assertThat(recent(a, 5)).containsExactly("a3", "a4", "a5", "a6", "a7");
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  @DisplayName("beyond the session limit the least recently used session is evicted and read from the store again")
  void evictsLeastRecentlyUsed() {
    String a = session("agent:main:a");
    String b = session("agent:main:b");
    String c = session("agent:main:c");
    store(a, "a1", true);
    store(b, "b1", true);
    store(c, "c1", true);
    assertThat(recent(a, 3)).containsExactly("a1");
    // written behind the cache's back: a cached session does not see it, which shows it is served from memory
    store(a, "a2 (not told)", false);
    assertThat(recent(a, 3)).containsExactly("a1");
    assertThat(recent(b, 3)).containsExactly("b1");
    assertThat(recent(c, 3)).containsExactly("c1");
    assertThat(cache.size()).isEqualTo(2);
    // a was the least recently used: evicted, so it comes from the store, with the message it missed
    assertThat(recent(a, 3)).containsExactly("a1", "a2 (not told)");
    assertThat(cache.size()).isEqualTo(2);
    // and b, now the least recently used, went out to make room
    store(b, "b2 (not told)", false);
    assertThat(recent(b, 3)).containsExactly("b1", "b2 (not told)");
  }

  @Test
  @DisplayName("a cache of zero sessions keeps nothing and reads every history from the store")
  void disabled() {
    cache = new HistoryCache(events, sessions, 0, 3);
    String a = session("agent:main:a");
    store(a, "a1", true);
    assertThat(recent(a, 3)).containsExactly("a1");
    store(a, "a2", false);
    assertThat(recent(a, 3)).containsExactly("a1", "a2");
    assertThat(cache.size()).isZero();
  }
}
