package dev.switchboard.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The failed-authentication limiter on an explicit clock (the basic lock is in {@link AuthTest}). */
class FailedAuthLimiterTest {
  static final String ORIGIN = "127.0.0.1";

  @Test
  @DisplayName("a success during a lock does not lift it; after the lock the count starts again")
  void lockRunsItsCourse() {
    FailedAuthLimiter l = new FailedAuthLimiter(5, 60_000, 60_000);
    for (int i = 0; i < 5; i++) {
      l.fail(ORIGIN, 1_000 + i);
    }
    assertThat(l.retryAfterMs(ORIGIN, 31_004)).isEqualTo(30_000);
    l.succeed(ORIGIN, 31_004);
    assertThat(l.retryAfterMs(ORIGIN, 31_005)).isEqualTo(29_999);
    assertThat(l.retryAfterMs(ORIGIN, 61_004)).isZero();
    assertThat(l.fail(ORIGIN, 61_005)).isZero();
  }

  @Test
  @DisplayName("failures older than the window do not count; a success clears the count")
  void windowAndSuccess() {
    FailedAuthLimiter l = new FailedAuthLimiter(5, 60_000, 60_000);
    for (int i = 0; i < 4; i++) {
      l.fail(ORIGIN, i);
    }
    // the first four fall out of the window: four more are needed again, the fifth locks
    assertThat(l.fail(ORIGIN, 60_000)).isZero();
    assertThat(l.fail(ORIGIN, 60_001)).isZero();
    assertThat(l.fail(ORIGIN, 60_002)).isZero();
    assertThat(l.fail(ORIGIN, 60_003)).isZero();
    l.succeed(ORIGIN, 60_004);
    for (int i = 0; i < 4; i++) {
      assertThat(l.fail(ORIGIN, 60_010 + i)).isZero();
    }
    assertThat(l.fail(ORIGIN, 60_020)).isEqualTo(60_000);
  }

  @Test
  @DisplayName("every workspace of one Vert.x instance shares one limiter; another instance has its own")
  void sharedPerVertx() throws Exception {
    Vertx a = Vertx.vertx();
    Vertx b = Vertx.vertx();
    try {
      assertThat(FailedAuthLimiter.shared(a)).isSameAs(FailedAuthLimiter.shared(a));
      assertThat(FailedAuthLimiter.shared(a)).isNotSameAs(FailedAuthLimiter.shared(b));
    } finally {
      a.close().await(10, TimeUnit.SECONDS);
      b.close().await(10, TimeUnit.SECONDS);
    }
  }
}
