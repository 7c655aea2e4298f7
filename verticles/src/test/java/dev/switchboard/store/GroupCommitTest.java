package dev.switchboard.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.TestDatabases;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Group commit: writes that arrive while one commits share the next commit; a bad one fails alone. */
@Timeout(60)
class GroupCommitTest {
  Vertx vertx;
  DatabaseConfig db;
  Pool pool;
  Context context;

  protected DatabaseConfig database() {
    return TestDatabases.h2();
  }

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    db = database();
    String schema = db.workspaceSchema("gc");
    Database.migrate(vertx, db, schema).await(30, TimeUnit.SECONDS);
    pool = Database.pool(vertx, db, schema);
    pool.query("CREATE TABLE gc_items (id INT PRIMARY KEY, label VARCHAR(40))").execute().await(10, TimeUnit.SECONDS);
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
    TestDatabases.dropSchemas(db);
  }

  /** Submits from the one context a GroupCommit is used on, as a verticle does. */
  <T> T onContext(Supplier<T> submit) throws Exception {
    CompletableFuture<T> out = new CompletableFuture<>();
    context.runOnContext(x -> out.complete(submit.get()));
    return out.get(10, TimeUnit.SECONDS);
  }

  Future<Integer> insert(GroupCommit commits, int id, AtomicInteger rollbacks) {
    return commits.run(c -> c.preparedQuery("INSERT INTO gc_items (id, label) VALUES (?, ?)")
        .execute(Tuple.of(id, "item " + id)).map(r -> id), rollbacks::incrementAndGet);
  }

  long count() throws Exception {
    return pool.query("SELECT COUNT(*) AS n FROM gc_items").execute().await(10, TimeUnit.SECONDS)
        .iterator().next().getLong("n");
  }

  @Test
  @DisplayName("writes that arrive while one commits wait and then share one commit; each gets its own result")
  void batches() throws Exception {
    GroupCommit commits = new GroupCommit(pool, 64);
    AtomicInteger rollbacks = new AtomicInteger();
    List<Future<Integer>> all = onContext(() -> {
      List<Future<Integer>> out = new ArrayList<>();
      for (int i = 1; i <= 50; i++) {
        out.add(insert(commits, i, rollbacks));
      }
      return out;
    });
    Future.all(all).await(20, TimeUnit.SECONDS);
    assertThat(all).extracting(Future::result).containsExactlyElementsOf(
        java.util.stream.IntStream.rangeClosed(1, 50).boxed().toList());
    assertThat(count()).isEqualTo(50);
    // the first ran alone at once; the other 49 came while it committed and went in one transaction
    assertThat(commits.batches()).isEqualTo(2);
    assertThat(commits.writes()).isEqualTo(50);
    assertThat(rollbacks).hasValue(0);
  }

  @Test
  @DisplayName("a batch is never larger than its limit")
  void limit() throws Exception {
    GroupCommit commits = new GroupCommit(pool, 10);
    AtomicInteger rollbacks = new AtomicInteger();
    List<Future<Integer>> all = onContext(() -> {
      List<Future<Integer>> out = new ArrayList<>();
      for (int i = 1; i <= 41; i++) {
        out.add(insert(commits, i, rollbacks));
      }
      return out;
    });
    Future.all(all).await(20, TimeUnit.SECONDS);
    assertThat(count()).isEqualTo(41);
    assertThat(commits.batches()).isEqualTo(5); // 1 alone, then 10 + 10 + 10 + 10
  }

  @Test
  @DisplayName("one bad write in a batch fails alone: the batch rolls back, the others are written on their own")
  void badWriteFailsAlone() throws Exception {
    GroupCommit commits = new GroupCommit(pool, 64);
    AtomicInteger rollbacks = new AtomicInteger();
    AtomicInteger badRollbacks = new AtomicInteger();
    List<Future<Integer>> all = onContext(() -> {
      List<Future<Integer>> out = new ArrayList<>();
      out.add(insert(commits, 1, rollbacks));
      for (int i = 2; i <= 5; i++) {
        out.add(insert(commits, i, rollbacks));
      }
      out.add(insert(commits, 3, badRollbacks)); // the same key again: refused
      for (int i = 6; i <= 8; i++) {
        out.add(insert(commits, i, rollbacks));
      }
      return out;
    });
    Future.join(all).otherwiseEmpty().await(20, TimeUnit.SECONDS);
    assertThat(all.stream().filter(Future::failed)).hasSize(1);
    assertThat(all.get(5).failed()).isTrue();
    assertThat(count()).isEqualTo(8);
    assertThat(pool.query("SELECT label FROM gc_items WHERE id = 3").execute().await(10, TimeUnit.SECONDS)
        .iterator().next().getString("label")).isEqualTo("item 3");
    // every write of the rolled-back batch was told (7 of them), the bad one again when it failed alone
    assertThat(rollbacks).hasValue(7);
    assertThat(badRollbacks).hasValue(2);
  }

  @Test
  @DisplayName("a write that fails on its own is rolled back and reported; the next ones go on")
  void failureAlone() throws Exception {
    GroupCommit commits = new GroupCommit(pool, 64);
    AtomicInteger rollbacks = new AtomicInteger();
    Future<Integer> bad = onContext(() -> commits.run(c -> c.preparedQuery("INSERT INTO gc_items (id, label)"
        + " VALUES (?, ?)").execute(Tuple.of(1, "x")).compose(r -> c.query("SELECT nope FROM gc_items").execute())
        .map(r -> 0), rollbacks::incrementAndGet));
    assertThat(bad.transform(Future::succeededFuture).await(10, TimeUnit.SECONDS).failed()).isTrue();
    assertThat(rollbacks).hasValue(1);
    assertThat(count()).isZero();
    assertThat(onContext(() -> insert(commits, 2, rollbacks)).await(10, TimeUnit.SECONDS)).isEqualTo(2);
    assertThat(count()).isEqualTo(1);
  }
}
