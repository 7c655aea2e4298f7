package dev.switchboard.config;

import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A secret value (token, API key). {@link #toString()} never shows it, so a secret that ends up in a
 * log line, an exception or a config dump stays hidden. Read it with {@link #reveal()} at the one
 * place that needs it.
 */
public final class Secret {
  private final String value;
  private final String origin;

  private Secret(String value, String origin) {
    this.value = Objects.requireNonNull(value, "value");
    this.origin = origin;
  }

  public static Secret of(String value, String origin) {
    return new Secret(value, origin);
  }

  public String reveal() {
    return value;
  }

  /** Where the value came from, e.g. {@code env:OPENAI_API_KEY} or {@code data/operator-token}; safe to log. */
  public String origin() {
    return origin;
  }

  public boolean isEmpty() {
    return value.isEmpty();
  }

  /** Compares in time independent of where the first difference is. */
  public boolean matches(String candidate) {
    if (candidate == null) {
      return false;
    }
    return MessageDigest.isEqual(
        value.getBytes(StandardCharsets.UTF_8), candidate.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "Secret[" + origin + "]";
  }
}
