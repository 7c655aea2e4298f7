package dev.switchboard.http;

import dev.switchboard.channels.ChannelAddresses;
import dev.switchboard.channels.Webhook;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.lanes.LiveEvent;
import dev.switchboard.store.GroupCommit;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.InboundStore;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.Readiness;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.FileSystemAccess;
import io.vertx.ext.web.handler.StaticHandler;
import io.vertx.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A workspace's HTTP front: on one port, the webchat page (plain GET on {@code /}), the gateway
 * WebSocket protocol (upgrades on {@code /}, where OpenClaw clients connect), and the
 * {@code /health} and {@code /ready} probes.
 */
public final class HttpVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(HttpVerticle.class);
  static final int WEBHOOK_BODY_LIMIT = 1024 * 1024;
  private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[a-z0-9_-]{1,64}");
  static final String CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
      + "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

  private WorkspaceConfig workspace;
  private ProtocolServer protocol;
  private HttpServer server;

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    workspace = ctx.config();
    WorkspaceBus bus = ctx.bus(vertx);
    Pool pool = ctx.pool(vertx);
    JsonObject gateway = ctx.gateway();
    ProtocolServer.Limits limits = ProtocolServer.Limits.fromJson(gateway.getJsonObject("websocket", new JsonObject()));
    protocol = new ProtocolServer(vertx, workspace, bus, new SessionStore(pool), new EventStore(pool),
        new InboundStore(pool, new GroupCommit(pool, 64)), ctx.token(), limits);

    Router router = Router.router(vertx);
    router.get("/health").handler(this::health);
    router.get("/ready").handler(this::ready);
    router.route("/").handler(this::upgrade);
    new RestApi(protocol).mount(router);
    router.route("/channels/:channel/:account/*").handler(BodyHandler.create(false).setBodyLimit(WEBHOOK_BODY_LIMIT))
        .handler(rc -> forwardWebhook(rc, bus));
    router.route().handler(rc -> {
      rc.response().putHeader("Content-Security-Policy", CSP).putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("Referrer-Policy", "no-referrer").putHeader("X-Frame-Options", "DENY");
      rc.next();
    });
    router.route().handler(staticFiles(gateway.getString("webroot")));

    HttpServerOptions options = new HttpServerOptions()
        .setHost(gateway.getString("host", "127.0.0.1"))
        .setPort(workspace.port())
        .setMaxWebSocketFrameSize(limits.maxPayloadBytes())
        .setMaxWebSocketMessageSize(limits.maxPayloadBytes())
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setCompressionSupported(true);
    return bus.<JsonObject>consumer(LaneAddresses.EVENTS, m -> protocol.onLiveEvent(LiveEvent.fromJson(m.body())))
        .completion()
        .compose(v -> protocol.start())
        .compose(v -> vertx.createHttpServer(options).requestHandler(router).listen())
        .onSuccess(s -> {
          server = s;
          LOG.debug("workspace {} listening on {}", workspace.id(), s.actualPort());
        });
  }

  @Override
  public Future<?> stop() {
    if (protocol != null) {
      protocol.shutdown("gateway stopping");
    }
    Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
    return closed.compose(v -> protocol == null ? Future.succeededFuture() : protocol.agentViews().close());
  }

  /** The port actually bound (differs from the configured one when that is 0). */
  public int actualPort() {
    return server == null ? -1 : server.actualPort();
  }

  private void health(RoutingContext rc) {
    rc.json(new JsonObject().put("status", "ok").put("workspace", workspace.id()).put("uptimeMs", protocol.uptimeMs()));
  }

  private void ready(RoutingContext rc) {
    JsonObject r = Readiness.read(vertx);
    rc.response().setStatusCode(r.getBoolean("ready", false) ? 200 : 503);
    rc.json(new JsonObject().put("status", r.getBoolean("ready", false) ? "ready" : "starting")
        .put("workspace", workspace.id()).mergeIn(r));
  }

  private void upgrade(RoutingContext rc) {
    if (!rc.request().canUpgradeToWebSocket()) {
      rc.next();
      return;
    }
    String query = rc.request().query();
    if (query != null && query.matches("(?i)(^|.*&)(token|password|auth)=.*")) {
      // tokens never travel in URLs (they end up in logs and histories)
      rc.response().setStatusCode(400).putHeader("Content-Type", "text/plain; charset=utf-8")
          .end("credentials are not accepted in the URL; send them in the connect request\n");
      return;
    }
    if (!protocol.acceptsHandshake()) {
      rc.response().setStatusCode(503).putHeader("Retry-After", "1")
          .putHeader("Content-Type", "text/plain; charset=utf-8")
          .end("too many connections are still authenticating; try again shortly\n");
      return;
    }
    HttpConnection connection = rc.request().connection();
    rc.request().toWebSocket()
        .onSuccess(ws -> protocol.accept(ws, connection))
        .onFailure(err -> LOG.debug("websocket upgrade failed: {}", err.toString()));
  }

  /** A platform's callback goes to the channel adapter that serves that account, over the bus. */
  private void forwardWebhook(RoutingContext rc, WorkspaceBus bus) {
    String channel = rc.pathParam("channel");
    String account = rc.pathParam("account");
    if (!NAME.matcher(channel).matches() || !NAME.matcher(account).matches()) {
      rc.response().setStatusCode(404).end();
      return;
    }
    String prefix = "/channels/" + channel + "/" + account;
    JsonObject headers = new JsonObject();
    rc.request().headers().forEach(h -> headers.put(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue()));
    Webhook hook = new Webhook(rc.request().method().name(), rc.request().path().substring(prefix.length()), headers,
        rc.body() == null || rc.body().buffer() == null ? "" : rc.body().asString(),
        rc.request().remoteAddress() == null ? "" : rc.request().remoteAddress().hostAddress());
    bus.request(ChannelAddresses.webhook(channel, account), hook.toJson(), 30_000).onComplete(ar -> {
      if (ar.failed()) {
        int code = BusFailure.codeOf(ar.cause());
        rc.response().setStatusCode(code == BusFailure.UNAVAILABLE && ar.cause() instanceof io.vertx.core.eventbus.ReplyException r
            && r.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS ? 404 : 503)
            .putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("error", "no channel account " + channel + "/" + account + " is served here, or it"
                + " is unavailable").encode());
        return;
      }
      JsonObject r = ar.result();
      rc.response().setStatusCode(r.getInteger("status", 200)).putHeader("Content-Type", r.getString("contentType",
          "application/json")).end(r.getString("body", ""));
    });
  }

  private static StaticHandler staticFiles(String webroot) {
    StaticHandler h;
    if (webroot != null && Files.isDirectory(Path.of(webroot))) {
      h = StaticHandler.create(FileSystemAccess.ROOT, Path.of(webroot).toAbsolutePath().toString());
    } else {
      h = StaticHandler.create("webroot");
    }
    return h.setIndexPage("index.html").setCachingEnabled(false).setDirectoryListing(false);
  }
}
