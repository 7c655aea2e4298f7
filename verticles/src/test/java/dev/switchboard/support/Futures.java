package dev.switchboard.support;

import io.vertx.core.Future;
import java.util.concurrent.TimeUnit;

/** Waiting for a future from a test thread. */
public final class Futures {
  private Futures() {
  }

  /** The future's result, waiting at most 20 s; a failure or the wait running out fails the test. */
  public static <T> T await(Future<T> f) {
    try {
      return f.await(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
