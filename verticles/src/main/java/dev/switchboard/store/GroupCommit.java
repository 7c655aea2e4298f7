package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Group commit for one verticle's small transactions. While a transaction commits, the writes
 * that arrive meanwhile wait and then run together in the next one: one commit (on H2 one store
 * of the changed pages, on PostgreSQL one WAL flush) for many writes under load, none of the
 * waiting when the verticle is idle. A write is a function of the connection it runs on; it may
 * run twice: when a batch fails, it is rolled back and every write in it runs again on its own, so
 * one bad write fails alone. A write whose in-memory effects must not survive a rollback passes
 * {@code onRollback}, called whenever a transaction it ran in was rolled back.
 * <p>
 * Used from one context only (the verticle's).
 */
public final class GroupCommit {
  private final Pool pool;
  private final int maxBatch;
  private List<Pending<?>> waiting = new ArrayList<>();
  private boolean committing;
  private long batches;
  private long writes;

  private record Pending<R>(Function<SqlClient, Future<R>> work, Runnable onRollback, Promise<R> done) {
  }

  public GroupCommit(Pool pool, int maxBatch) {
    this.pool = Objects.requireNonNull(pool);
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be at least 1");
    }
    this.maxBatch = maxBatch;
  }

  /** Runs {@code work} in a transaction, alone or with the writes that arrive while another commits. */
  public <R> Future<R> run(Function<SqlClient, Future<R>> work) {
    return run(work, () -> { });
  }

  /** {@link #run(Function)}, with what to undo when a transaction the write ran in is rolled back. */
  public <R> Future<R> run(Function<SqlClient, Future<R>> work, Runnable onRollback) {
    Promise<R> done = Promise.promise();
    waiting.add(new Pending<>(work, Objects.requireNonNull(onRollback), done));
    if (!committing) {
      next();
    }
    return done.future();
  }

  /** Transactions committed so far, and the writes they carried. */
  public long batches() {
    return batches;
  }

  public long writes() {
    return writes;
  }

  private void next() {
    if (waiting.isEmpty()) {
      committing = false;
      return;
    }
    committing = true;
    List<Pending<?>> batch;
    if (waiting.size() <= maxBatch) {
      batch = waiting;
      waiting = new ArrayList<>();
    } else {
      batch = new ArrayList<>(waiting.subList(0, maxBatch));
      waiting = new ArrayList<>(waiting.subList(maxBatch, waiting.size()));
    }
    List<Object> results = new ArrayList<>(batch.size());
    pool.withTransaction(c -> runAll(c, batch, 0, results)).onComplete(ar -> {
      if (ar.succeeded()) {
        batches++;
        writes += batch.size();
        for (int i = 0; i < batch.size(); i++) {
          complete(batch.get(i), results.get(i));
        }
        next();
      } else if (batch.size() == 1) {
        batch.get(0).onRollback().run();
        batch.get(0).done().fail(ar.cause());
        next();
      } else {
        // rolled back together: each again on its own, so only the one at fault fails
        batch.forEach(p -> p.onRollback().run());
        alone(batch, 0);
      }
    });
  }

  private void alone(List<Pending<?>> batch, int i) {
    if (i == batch.size()) {
      next();
      return;
    }
    runAlone(batch.get(i)).onComplete(x -> alone(batch, i + 1));
  }

  private <R> Future<R> runAlone(Pending<R> p) {
    return pool.withTransaction(p.work()::apply)
        .onSuccess(x -> {
          batches++;
          writes++;
        })
        .onFailure(x -> p.onRollback().run())
        .onComplete(p.done());
  }

  private static Future<Void> runAll(SqlClient c, List<Pending<?>> batch, int i, List<Object> results) {
    if (i == batch.size()) {
      return Future.succeededFuture();
    }
    return batch.get(i).work().apply(c).compose(r -> {
      results.add(r);
      return runAll(c, batch, i + 1, results);
    });
  }

  @SuppressWarnings("unchecked")
  private static <R> void complete(Pending<R> p, Object result) {
    p.done().complete((R) result);
  }
}
