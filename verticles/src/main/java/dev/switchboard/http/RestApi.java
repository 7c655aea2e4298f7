package dev.switchboard.http;

import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.store.Session;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST view of a workspace under {@code /api}, for operators and scripts: status, lanes,
 * sessions, what the model sees for a session ({@code /api/sessions/{key}/context}) and token usage
 * ({@code /api/usage}, {@code /api/sessions/{key}/usage}). Every request needs
 * {@code Authorization: Bearer <operator token>} (compared in constant time; failures rate-limited
 * per origin, loopback included; a token in the query string is refused). Errors are problem JSON
 * (RFC 9457): {@code {type, title, status, detail}}.
 */
final class RestApi {
  private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);
  private static final long BUS_TIMEOUT_MS = 10_000;

  private final ProtocolServer server;

  RestApi(ProtocolServer server) {
    this.server = server;
  }

  void mount(Router router) {
    router.route("/api/*").handler(this::authenticate);
    router.get("/api/status").handler(rc -> respond(rc, GatewayMethods.status(server)));
    router.get("/api/lanes").handler(rc -> respond(rc, server.bus().request(LaneAddresses.STATUS,
        new JsonObject().put("sessionKey", rc.queryParams().get("sessionKey")), BUS_TIMEOUT_MS)));
    router.get("/api/sessions").handler(this::sessions);
    // what the model would see for a session's next turn, and what the workspace's turns used
    router.get("/api/sessions/:key/context").handler(rc -> respond(rc, sessionKey(rc)
        .compose(key -> server.agentViews().context(key))));
    router.get("/api/sessions/:key/usage").handler(rc -> respond(rc, sessionKey(rc)
        .compose(key -> server.agentViews().usage(key))));
    router.get("/api/usage").handler(rc -> respond(rc, server.agentViews().usage()));
    router.route("/api/*").handler(rc -> problem(rc, 404, "not found", "no such endpoint: " + rc.request().path()));
  }

  private void authenticate(RoutingContext rc) {
    String query = rc.request().query();
    if (query != null && query.matches("(?i)(^|.*&)(token|access_token|password)=.*")) {
      problem(rc, 400, "credentials in URL", "send the token in the Authorization header, never in the URL");
      return;
    }
    String header = rc.request().getHeader("Authorization");
    String token = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : null;
    ProtocolError denied = server.authenticate(rc.request().remoteAddress() == null ? "unknown"
        : rc.request().remoteAddress().hostAddress(), token, false);
    if (denied != null) {
      JsonObject details = denied.details() == null ? new JsonObject() : denied.details();
      if ("AUTH_RATE_LIMITED".equals(details.getString("code"))) {
        rc.response().putHeader("Retry-After", Long.toString(Math.max(1, denied.toJson().getLong("retryAfterMs", 1000L) / 1000)));
        problem(rc, 429, "too many failed attempts", denied.getMessage());
      } else {
        rc.response().putHeader("WWW-Authenticate", "Bearer");
        problem(rc, 401, "unauthorized", denied.getMessage());
      }
      return;
    }
    rc.next();
  }

  private void sessions(RoutingContext rc) {
    int limit = intParam(rc, "limit", 50, 1, 500);
    int offset = intParam(rc, "offset", 0, 0, Integer.MAX_VALUE);
    if (limit < 0 || offset < 0) {
      return;
    }
    String search = rc.queryParams().get("search");
    String agentId = rc.queryParams().get("agentId");
    Future<List<Session>> page = search == null || search.isBlank()
        ? server.sessions().heads(agentId, limit, offset)
        : server.sessions().search(agentId, search, limit, offset);
    respond(rc, page.map(list -> {
      JsonArray rows = new JsonArray();
      list.forEach(x -> rows.add(Messages.row(x, server.workspace())));
      return new JsonObject().put("sessions", rows).put("limit", limit).put("offset", offset);
    }));
  }

  /** The canonical session key of the path's {@code :key} (URL-decoded; {@code main} means the default agent's). */
  private Future<String> sessionKey(RoutingContext rc) {
    try {
      return Future.succeededFuture(server.agentViews().canonicalKey(rc.pathParam("key")));
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  private static int intParam(RoutingContext rc, String name, int fallback, int min, int max) {
    String v = rc.queryParams().get(name);
    if (v == null) {
      return fallback;
    }
    try {
      int i = Integer.parseInt(v);
      if (i >= min && i <= max) {
        return i;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    problem(rc, 400, "bad parameter", name + " must be a whole number from " + min + " to " + max);
    return -1;
  }

  private static void respond(RoutingContext rc, Future<JsonObject> f) {
    respond(rc, f, Function.identity());
  }

  private static <T> void respond(RoutingContext rc, Future<T> f, Function<T, JsonObject> body) {
    f.onSuccess(r -> rc.json(body.apply(r))).onFailure(err -> {
      ProtocolError e = ProtocolServer.toProtocolError(rc.request().path(), err);
      int status = switch (e.code()) {
        case ProtocolError.INVALID_REQUEST -> 400;
        case ProtocolError.FORBIDDEN -> 403;
        default -> 503;
      };
      problem(rc, status, e.code().toLowerCase().replace('_', ' '), e.getMessage());
    });
  }

  static void problem(RoutingContext rc, int status, String title, String detail) {
    if (rc.response().ended()) {
      return;
    }
    if (status >= 500) {
      LOG.warn("{} {} -> {}: {}", rc.request().method(), rc.request().path(), status, detail);
    }
    rc.response().setStatusCode(status).putHeader("Content-Type", "application/problem+json")
        .end(new JsonObject().put("type", "about:blank").put("title", title).put("status", status)
            .put("detail", detail).encode());
  }
}
