package dev.switchboard.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.config.Secret;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthTest {
  @Test
  @DisplayName("without a configured token one is generated, kept owner-readable under data/, and reused")
  void generatedToken(@TempDir Path data) throws Exception {
    Secret first = OperatorToken.resolve(null, data);
    Secret second = OperatorToken.resolve(null, data);
    assertThat(first.reveal()).hasSizeGreaterThanOrEqualTo(40).isEqualTo(second.reveal());
    assertThat(Files.getPosixFilePermissions(data.resolve(OperatorToken.FILE)))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    assertThat(OperatorToken.resolve(Secret.of("configured-token-123", "test"), data).reveal())
        .isEqualTo("configured-token-123");
  }

  @Test
  @DisplayName("five failures lock an origin out for the lock time, even with the right token; others are unaffected")
  void failedAttemptsAreLimited() {
    FailedAuthLimiter limiter = new FailedAuthLimiter(5, 60_000, 30_000);
    long t = 1_000_000;
    for (int i = 0; i < 4; i++) {
      assertThat(limiter.fail("127.0.0.1", t + i)).isZero();
    }
    assertThat(limiter.fail("127.0.0.1", t + 4)).isEqualTo(30_000);
    assertThat(limiter.retryAfterMs("127.0.0.1", t + 10_004)).isEqualTo(20_000);
    assertThat(limiter.retryAfterMs("10.0.0.2", t + 10_004)).isZero();
    assertThat(limiter.retryAfterMs("127.0.0.1", t + 30_004)).isZero();
    // failures spread wider than the window never lock
    FailedAuthLimiter slow = new FailedAuthLimiter(5, 60_000, 30_000);
    for (int i = 0; i < 10; i++) {
      assertThat(slow.fail("h", t + i * 61_000L)).isZero();
    }
  }

  @Test
  @DisplayName("secrets compare by content and never print their value")
  void secrets() {
    Secret s = Secret.of("hunter2-hunter2", "env:X");
    assertThat(s.matches("hunter2-hunter2")).isTrue();
    assertThat(s.matches("hunter2")).isFalse();
    assertThat(s.matches(null)).isFalse();
    assertThat(s.toString()).isEqualTo("Secret[env:X]");
  }
}
