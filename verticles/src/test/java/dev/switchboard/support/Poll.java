package dev.switchboard.support;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Waiting for state that announces nothing a test can listen to (a row in the database, an
 * adapter's transport status): looks again every 20 ms until it is there, within a bound. Where a
 * stand-in or client records what happens, wait on that instead.
 */
public final class Poll {
  private Poll() {
  }

  /**
   * The first non-null answer of {@code check}; fails with {@code what} and the last answer seen
   * ({@code last}) when {@code timeout} passes first.
   */
  public static <T> T until(String what, Duration timeout, Supplier<T> check, Supplier<Object> last) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T found = check.get();
      if (found != null) {
        return found;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("waited " + timeout.toSeconds() + " s for " + what + "; last seen: " + last.get());
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
