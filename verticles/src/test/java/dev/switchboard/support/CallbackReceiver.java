package dev.switchboard.support;

import dev.switchboard.channels.http.HttpChannelVerticle;
import dev.switchboard.config.Secret;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * The other side of the HTTP channel: a real HTTP server on 127.0.0.1 that checks every callback's
 * signature, keeps the messages a user of that system would see, and injects faults: status codes
 * (429 with Retry-After, 5xx, 422), a response held back for good (the gateway times out after the
 * message arrived), a request taken but never acted on nor answered, refusing everything (or the
 * callbacks a predicate picks) until told otherwise.
 */
public final class CallbackReceiver implements AutoCloseable {
  private final Vertx vertx;
  private final Secret secret;
  private final HttpServer server;
  private final Map<String, JsonObject> messages = new LinkedHashMap<>();
  private final List<JsonObject> calls = new ArrayList<>();
  private final ArrayDeque<Integer> faults = new ArrayDeque<>();
  private final AtomicInteger ids = new AtomicInteger();
  private volatile int refuseAllWith;
  private volatile boolean holdResponses;
  private volatile boolean swallow;
  private volatile Predicate<JsonObject> refuseWhen = c -> false;
  private volatile int refuseWhenWith;
  private volatile int badSignatures;

  public CallbackReceiver(Vertx vertx, String secret) throws Exception {
    this.vertx = vertx;
    this.secret = Secret.of(secret, "test");
    this.server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(buf -> {
      String body = buf.toString();
      String ts = req.getHeader("X-Switchboard-Timestamp");
      String sig = req.getHeader("X-Switchboard-Signature");
      if (ts == null || sig == null || !HttpChannelVerticle.sign(this.secret, Long.parseLong(ts), body).equals(sig)) {
        badSignatures++;
        req.response().setStatusCode(401).end();
        return;
      }
      JsonObject call = new JsonObject(body);
      int status;
      synchronized (messages) {
        calls.add(call);
        Integer fault = faults.pollFirst();
        status = fault != null ? fault : refuseWhen.test(call) ? refuseWhenWith : refuseAllWith;
        messages.notifyAll();
      }
      if (swallow) {
        return; // taken, never shown, never answered
      }
      if (status != 0 && status != 1) {
        var resp = req.response().setStatusCode(status).putHeader("Content-Type", "application/json");
        if (status == 429) {
          resp.putHeader("Retry-After", "0.2");
        }
        resp.end(new JsonObject().put("error", "injected " + status).encode());
        return;
      }
      JsonObject answer = apply(call);
      if (holdResponses || status == 1) {
        return; // the message is shown, the answer never comes
      }
      req.response().putHeader("Content-Type", "application/json").end(answer.encode());
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  private JsonObject apply(JsonObject call) {
    synchronized (messages) {
      String op = call.getString("op");
      switch (op) {
        case "send" -> {
          String id = "m" + ids.incrementAndGet();
          messages.put(id, call.copy().put("id", id));
          messages.notifyAll();
          return new JsonObject().put("messageId", id);
        }
        case "edit" -> {
          JsonObject m = messages.get(call.getString("messageId"));
          if (m != null) {
            m.put("text", call.getString("text"));
          }
          messages.notifyAll();
          return new JsonObject().put("messageId", call.getString("messageId"));
        }
        case "delete" -> {
          messages.remove(call.getString("messageId"));
          messages.notifyAll();
          return new JsonObject().put("messageId", call.getString("messageId"));
        }
        default -> {
          for (JsonObject m : messages.values()) {
            if (call.getString("obligationId").equals(m.getString("obligationId"))
                && call.getInteger("chunk").equals(m.getInteger("chunk"))) {
              return new JsonObject().put("found", true).put("messageId", m.getString("id"));
            }
          }
          return new JsonObject().put("found", false);
        }
      }
    }
  }

  public String url() {
    return "http://127.0.0.1:" + server.actualPort() + "/hook";
  }

  /** The next callbacks answer with these statuses, in order (1 = show the message but never answer). */
  public void inject(int... statuses) {
    synchronized (messages) {
      for (int s : statuses) {
        faults.addLast(s);
      }
    }
  }

  /** Every callback answers {@code status} until reset with 0. */
  public void refuseAll(int status) {
    refuseAllWith = status;
  }

  /** Callbacks are applied but never answered (the gateway's request times out or dies waiting). */
  public void holdResponses(boolean hold) {
    holdResponses = hold;
  }

  /** Callbacks are taken but neither applied nor answered: the platform never acted on them. */
  public void swallow(boolean on) {
    swallow = on;
  }

  /** Callbacks matching {@code which} answer {@code status} (not applied) until {@code status} 0. */
  public void refuseWhen(Predicate<JsonObject> which, int status) {
    refuseWhen = status == 0 ? c -> false : which;
    refuseWhenWith = status;
  }

  /** Waits until a callback matching {@code which} came (whatever was answered); returns the first. */
  public JsonObject awaitCall(Predicate<JsonObject> which) {
    return awaitCalls(which, 1).get(0);
  }

  /** Waits until {@code n} callbacks matching {@code which} came; returns them in order. */
  public List<JsonObject> awaitCalls(Predicate<JsonObject> which, int n) {
    long deadline = System.currentTimeMillis() + 60_000;
    synchronized (messages) {
      while (true) {
        List<JsonObject> found = calls.stream().filter(which).map(JsonObject::copy).toList();
        if (found.size() >= n) {
          return found;
        }
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          throw new AssertionError(n + " such callbacks did not come; got " + calls);
        }
        try {
          messages.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** Messages shown in one chat, in order. */
  public List<JsonObject> chat(String chatId) {
    synchronized (messages) {
      return messages.values().stream().filter(m -> chatId.equals(m.getJsonObject("chat").getString("id")))
          .map(JsonObject::copy).toList();
    }
  }

  public List<JsonObject> calls() {
    synchronized (messages) {
      return List.copyOf(calls);
    }
  }

  public int badSignatures() {
    return badSignatures;
  }

  /** Waits until chat {@code chatId} shows a message containing {@code token}. */
  public JsonObject awaitText(String chatId, String token) {
    long deadline = System.currentTimeMillis() + 60_000;
    synchronized (messages) {
      while (true) {
        for (JsonObject m : messages.values()) {
          if (chatId.equals(m.getJsonObject("chat").getString("id")) && m.getString("text", "").contains(token)) {
            return m.copy();
          }
        }
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          throw new AssertionError("no message with " + token + " in chat " + chatId + "; got " + messages.values());
        }
        try {
          messages.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** Signs and POSTs a user message to the gateway's HTTP channel; returns status and body. */
  public static JsonObject post(Vertx vertx, int port, String account, String secret, JsonObject message) throws Exception {
    String body = message.encode();
    long ts = System.currentTimeMillis() / 1000;
    var resp = io.vertx.ext.web.client.WebClient.create(vertx)
        .post(port, "127.0.0.1", "/channels/http/" + account + "/messages")
        .putHeader("Content-Type", "application/json")
        .putHeader("X-Switchboard-Timestamp", Long.toString(ts))
        .putHeader("X-Switchboard-Signature", HttpChannelVerticle.sign(Secret.of(secret, "test"), ts, body))
        .sendBuffer(io.vertx.core.buffer.Buffer.buffer(body)).await(30, TimeUnit.SECONDS);
    return new JsonObject().put("status", resp.statusCode()).put("body", resp.bodyAsString());
  }

  @Override
  public void close() throws Exception {
    server.close().await(10, TimeUnit.SECONDS);
  }
}
