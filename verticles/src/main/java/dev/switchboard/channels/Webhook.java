package dev.switchboard.channels;

import io.vertx.core.json.JsonObject;

/**
 * A platform's HTTP request to a channel account, as the workspace's HTTP front forwards it: the
 * path below {@code /channels/<channel>/<account>}, the headers an adapter may need (lower-case
 * names), the raw body (signatures are computed over the exact bytes) and the caller's address.
 */
public record Webhook(String method, String path, JsonObject headers, String body, String remote) {

  public String header(String name) {
    return headers.getString(name.toLowerCase(java.util.Locale.ROOT));
  }

  public JsonObject toJson() {
    return new JsonObject().put("method", method).put("path", path).put("headers", headers).put("body", body)
        .put("remote", remote);
  }

  public static Webhook fromJson(JsonObject j) {
    return new Webhook(j.getString("method", "POST"), j.getString("path", ""), j.getJsonObject("headers", new JsonObject()),
        j.getString("body", ""), j.getString("remote", ""));
  }

  /** The reply the HTTP front sends back to the platform. */
  public static JsonObject response(int status, JsonObject body) {
    return new JsonObject().put("status", status).put("body", body == null ? "" : body.encode())
        .put("contentType", "application/json");
  }
}
