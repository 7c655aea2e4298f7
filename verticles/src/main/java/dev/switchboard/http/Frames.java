package dev.switchboard.http;

import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;

/** The three frame kinds. Frames carry exactly the schema's keys; nothing extra at the top level. */
final class Frames {
  private Frames() {
  }

  static JsonObject response(String id, Object payload) {
    JsonObject j = new JsonObject().put("type", "res").put("id", id).put("ok", true);
    if (payload != null) {
      j.put("payload", payload);
    }
    return j;
  }

  static JsonObject error(String id, ProtocolError e) {
    JsonObject j = new JsonObject().put("type", "res").put("id", id).put("ok", false);
    if (e.payload() != null) {
      j.put("payload", e.payload());
    }
    return j.put("error", e.toJson());
  }

  static JsonObject event(String event, Long seq, Object payload) {
    JsonObject j = new JsonObject().put("type", "event").put("event", event);
    if (seq != null) {
      j.put("seq", seq);
    }
    return j.put("payload", payload);
  }

  /** An event frame around a payload encoded once for all its receivers. */
  static String event(String event, long seq, String encodedPayload) {
    return new StringBuilder(encodedPayload.length() + event.length() + 48)
        .append("{\"type\":\"event\",\"event\":").append(Json.encode(event))
        .append(",\"seq\":").append(seq).append(",\"payload\":").append(encodedPayload).append('}').toString();
  }
}
