package dev.switchboard.workspace;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;

/**
 * Whether the gateway is ready: every workspace that could be loaded is deployed and migrated.
 * Kept in Vert.x local shared data so every workspace's {@code /ready} probe reads the same answer.
 * Shape: {@code {ready, workspaces: {<id>: starting|ready|failed|stopping}, problems: {<id>: [..]}}}.
 */
public final class Readiness {
  private static final String MAP = "switchboard.gateway";
  private static final String KEY = "readiness";

  private Readiness() {
  }

  private static LocalMap<String, JsonObject> map(Vertx vertx) {
    return vertx.sharedData().getLocalMap(MAP);
  }

  public static JsonObject read(Vertx vertx) {
    JsonObject j = map(vertx).get(KEY);
    return j == null ? new JsonObject().put("ready", false).put("workspaces", new JsonObject()) : j;
  }

  public static synchronized void update(Vertx vertx, java.util.function.UnaryOperator<JsonObject> change) {
    JsonObject current = read(vertx).copy();
    map(vertx).put(KEY, change.apply(current));
  }

  public static void workspace(Vertx vertx, String id, String state) {
    update(vertx, j -> {
      JsonObject ws = j.getJsonObject("workspaces", new JsonObject());
      return j.put("workspaces", ws.put(id, state));
    });
  }

  public static void ready(Vertx vertx, boolean ready) {
    update(vertx, j -> j.put("ready", ready));
  }
}
