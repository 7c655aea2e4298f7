package dev.switchboard.support;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * The checks OpenClaw's reference client applies to every frame it receives (it silently drops a
 * frame that fails them, leaving its caller waiting): only the schema's top-level keys, a
 * well-formed error on every failed response, a non-negative integer seq on sequenced events.
 */
public final class FrameGuard {
  private static final Set<String> RES_KEYS = Set.of("type", "id", "ok", "payload", "error");
  private static final Set<String> EVENT_KEYS = Set.of("type", "event", "seq", "payload", "stateVersion");
  private static final Set<String> ERROR_KEYS = Set.of("code", "message", "details", "retryable", "retryAfterMs");

  private FrameGuard() {
  }

  public static void assertWellFormed(List<JsonObject> frames) {
    for (JsonObject f : frames) {
      String type = f.getString("type");
      assertThat(type).as("frame type of %s", f.encode()).isIn("res", "event");
      if (type.equals("res")) {
        assertThat(RES_KEYS).as("keys of %s", f.encode()).containsAll(f.fieldNames());
        assertThat(f.getValue("id")).as("id of %s", f.encode()).isInstanceOf(String.class);
        assertThat(f.getValue("ok")).as("ok of %s", f.encode()).isInstanceOf(Boolean.class);
        if (!f.getBoolean("ok")) {
          assertError(f);
        } else {
          assertThat(f.containsKey("error")).as("error on a success: %s", f.encode()).isFalse();
        }
      } else {
        assertThat(EVENT_KEYS).as("keys of %s", f.encode()).containsAll(f.fieldNames());
        assertThat(f.getString("event")).as("event name of %s", f.encode()).isNotEmpty();
        if (f.getValue("seq") != null) {
          assertThat(f.getValue("seq")).as("seq of %s", f.encode()).isInstanceOfAny(Integer.class, Long.class);
          assertThat(f.getLong("seq")).isNotNegative();
        } else {
          assertThat(f.getString("event")).as("only the challenge is unnumbered").isEqualTo("connect.challenge");
        }
      }
    }
  }

  private static void assertError(JsonObject f) {
    assertThat(f.getValue("error")).as("error of %s", f.encode()).isInstanceOf(JsonObject.class);
    JsonObject e = f.getJsonObject("error");
    assertThat(ERROR_KEYS).as("error keys of %s", f.encode()).containsAll(e.fieldNames());
    assertThat(e.getValue("code")).isInstanceOf(String.class);
    assertThat(e.getString("code")).isIn("INVALID_REQUEST", "FORBIDDEN", "UNAVAILABLE", "NOT_PAIRED",
        "APPROVAL_NOT_FOUND");
    assertThat(e.getValue("message")).isInstanceOf(String.class);
    assertThat(e.getString("message")).isNotBlank();
    if (e.containsKey("retryable")) {
      assertThat(e.getValue("retryable")).isInstanceOf(Boolean.class);
    }
    if (e.containsKey("retryAfterMs")) {
      assertThat(e.getValue("retryAfterMs")).isInstanceOfAny(Integer.class, Long.class);
      assertThat(e.getLong("retryAfterMs")).isNotNegative();
    }
  }
}
