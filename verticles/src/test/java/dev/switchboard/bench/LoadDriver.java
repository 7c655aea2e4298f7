package dev.switchboard.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives webchat sessions over the real WebSocket protocol, non-blocking: one connection per
 * session, the handshake as OpenClaw's clients do it, then {@code chat.send} and wait for the run's
 * terminal {@code chat} event, again and again. Records send→first delta and send→final for every turn.
 */
final class LoadDriver {
  /** The cap the webchat page sends (docs/protocol.md). */
  static final String SESSION_SCOPED_CAP = "switchboard.session-scoped-events";

  private final Vertx vertx;
  private final int port;
  private final String token;
  private final WebSocketClient client;
  final Latencies firstDelta = new Latencies();
  final Latencies finals = new Latencies();
  final AtomicLong turns = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  private final boolean scoped;

  /**
   * {@code scoped}: connect as the webchat page does, asking for session-scoped events and
   * subscribing to its session; otherwise as OpenClaw's clients, hearing every session's runs.
   */
  LoadDriver(Vertx vertx, int port, String token, int maxConnections, boolean scoped) {
    this.vertx = vertx;
    this.scoped = scoped;
    this.port = port;
    this.token = token;
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(maxConnections)
        .setConnectTimeout(30_000).setMaxFrameSize(1 << 20).setMaxMessageSize(1 << 22));
  }

  /** One authenticated connection, with the state of the turn it is waiting for. */
  final class Session {
    final String key;
    final WebSocket ws;
    final AtomicInteger ids = new AtomicInteger();
    String pending;
    long sentAt;
    boolean deltaSeen;
    Promise<Void> turnDone;

    Session(String key, WebSocket ws) {
      this.key = key;
      this.ws = ws;
    }

    void onFrame(String text) {
      String runId = pending;
      if (runId == null || !text.contains(runId)) {
        return; // other sessions' events (without session scope every operator socket hears every run)
      }
      JsonObject f = new JsonObject(text);
      if (!"event".equals(f.getString("type")) || !"chat".equals(f.getString("event"))) {
        if ("res".equals(f.getString("type")) && !f.getBoolean("ok")) {
          errors.incrementAndGet();
          finish();
        }
        return;
      }
      JsonObject p = f.getJsonObject("payload");
      if (!runId.equals(p.getString("runId"))) {
        return;
      }
      String state = p.getString("state");
      long now = System.nanoTime();
      if ("delta".equals(state)) {
        if (!deltaSeen) {
          deltaSeen = true;
          firstDelta.add(now - sentAt);
        }
        return;
      }
      if ("final".equals(state)) {
        finals.add(now - sentAt);
        turns.incrementAndGet();
      } else {
        errors.incrementAndGet();
      }
      finish();
    }

    private void finish() {
      pending = null;
      Promise<Void> p = turnDone;
      turnDone = null;
      if (p != null) {
        p.tryComplete();
      }
    }

    /** One turn: send, then wait for its final (or error). */
    Future<Void> turn(String message) {
      String runId = UUID.randomUUID().toString();
      pending = runId;
      deltaSeen = false;
      turnDone = Promise.promise();
      sentAt = System.nanoTime();
      ws.writeTextMessage(new JsonObject().put("type", "req").put("id", ids.incrementAndGet() + ":" + runId)
          .put("method", "chat.send").put("params", new JsonObject().put("sessionKey", key).put("message", message)
              .put("idempotencyKey", runId)).encode());
      return turnDone.future();
    }
  }

  /** Opens and authenticates {@code n} connections, {@code parallel} at a time. */
  Future<List<Session>> connect(String prefix, int n, int parallel) {
    List<Session> out = new ArrayList<>();
    return connectFrom(prefix, n, 0, parallel, out).map(v -> out);
  }

  private Future<Void> connectFrom(String prefix, int n, int from, int parallel, List<Session> out) {
    if (from >= n) {
      return Future.succeededFuture();
    }
    List<Future<Session>> batch = new ArrayList<>();
    for (int i = from; i < Math.min(n, from + parallel); i++) {
      batch.add(open(prefix + i));
    }
    return Future.all(batch).compose(x -> {
      batch.forEach(f -> out.add(f.result()));
      return connectFrom(prefix, n, from + parallel, parallel, out);
    });
  }

  private Future<Session> open(String key) {
    Promise<Session> ready = Promise.promise();
    client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/")).onSuccess(ws -> {
      Session s = new Session(key, ws);
      ws.textMessageHandler(text -> {
        if (ready.future().isComplete()) {
          s.onFrame(text);
          return;
        }
        JsonObject f = new JsonObject(text);
        if ("connect.challenge".equals(f.getString("event"))) {
          ws.writeTextMessage(new JsonObject().put("type", "req").put("id", "0:connect").put("method", "connect")
              .put("params", new JsonObject().put("minProtocol", 4).put("maxProtocol", 4)
                  .put("client", new JsonObject().put("id", "test").put("version", "bench").put("platform", "linux")
                      .put("mode", "test"))
                  .put("role", "operator").put("scopes", new JsonArray().add("operator.write").add("operator.read"))
                  .put("caps", scoped ? new JsonArray().add(SESSION_SCOPED_CAP) : new JsonArray())
                  .put("auth", new JsonObject().put("token", token))).encode());
        } else if ("res".equals(f.getString("type")) && !f.getBoolean("ok")) {
          ready.tryFail(f.getString("id") + ": " + f.getJsonObject("error").encode());
        } else if ("res".equals(f.getString("type")) && "0:connect".equals(f.getString("id"))) {
          if (!scoped) {
            ready.tryComplete(s);
            return;
          }
          ws.writeTextMessage(new JsonObject().put("type", "req").put("id", "0:subscribe")
              .put("method", "sessions.messages.subscribe").put("params", new JsonObject().put("key", key)).encode());
        } else if ("res".equals(f.getString("type")) && "0:subscribe".equals(f.getString("id"))) {
          ready.tryComplete(s);
        }
      });
      ws.exceptionHandler(err -> ready.tryFail(err));
    }).onFailure(ready::tryFail);
    return ready.future();
  }

  /** Every session runs {@code turnsEach} turns one after the other; sessions run side by side. */
  Future<Void> run(List<Session> sessions, int turnsEach, String message) {
    List<Future<Void>> all = new ArrayList<>();
    for (Session s : sessions) {
      all.add(loop(s, turnsEach, message));
    }
    return Future.all(all).mapEmpty();
  }

  /**
   * Open loop: {@code rate} turns/s offered in all, each session sending on its own schedule (an
   * evenly spread phase, then every {@code sessions / rate} seconds; late when its previous turn
   * has not ended yet). Latency then shows the gateway's own overhead rather than queueing.
   */
  Future<Void> paced(List<Session> sessions, int turnsEach, String message, double rate) {
    long intervalNs = (long) (sessions.size() / rate * 1e9);
    long start = System.nanoTime();
    List<Future<Void>> all = new ArrayList<>();
    for (int i = 0; i < sessions.size(); i++) {
      Promise<Void> done = Promise.promise();
      long phase = intervalNs * i / sessions.size();
      pacedStep(sessions.get(i), turnsEach, message, start + phase, intervalNs, done);
      all.add(done.future());
    }
    return Future.all(all).mapEmpty();
  }

  private void pacedStep(Session s, int left, String message, long dueNs, long intervalNs, Promise<Void> done) {
    if (left == 0) {
      done.complete();
      return;
    }
    long waitMs = (dueNs - System.nanoTime()) / 1_000_000;
    Runnable send = () -> s.turn(message).onComplete(ar -> pacedStep(s, left - 1, message, dueNs + intervalNs,
        intervalNs, done));
    if (waitMs >= 1) {
      vertx.setTimer(waitMs, t -> send.run());
    } else {
      vertx.runOnContext(v -> send.run());
    }
  }

  private Future<Void> loop(Session s, int turns, String message) {
    Promise<Void> done = Promise.promise();
    step(s, turns, message, done);
    return done.future();
  }

  /** Not a chain of composed futures: thousands of turns would complete as one deep recursion. */
  private static void step(Session s, int left, String message, Promise<Void> done) {
    if (left == 0) {
      done.complete();
      return;
    }
    s.turn(message).onComplete(ar -> step(s, left - 1, message, done));
  }

  Future<Void> close(List<Session> sessions) {
    List<Future<Void>> all = new ArrayList<>();
    sessions.forEach(s -> all.add(s.ws.close()));
    return Future.join(all).mapEmpty();
  }

  void shutdown() {
    client.close();
  }
}
