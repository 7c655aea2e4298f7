package dev.switchboard.agent.providers;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.FailureKind;
import dev.switchboard.agent.ModelFailure;
import dev.switchboard.agent.Redactor;
import dev.switchboard.agent.Usage;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.util.List;
import java.util.function.Supplier;

/**
 * POSTs a JSON request and reads the answer as a server-sent event stream, with the two timeouts a
 * streaming model call needs: an <b>idle</b> timeout (nothing received for {@code idleTimeoutMs},
 * first byte included: the stream stalled) and an <b>overall</b> timeout ({@code timeoutMs} from
 * request to last byte). Either one, an abort, or a failure inside the event handler resets the HTTP
 * stream at once. Non-2xx answers are read (up to 64 KiB) and classified.
 *
 * <p>Built on Vert.x core's {@link HttpClient} rather than WebClient: WebClient's body codecs hand
 * over the status and headers only after the whole body has been consumed, while a stream must be
 * checked (status, content type) before its first event is interpreted.
 */
final class StreamingHttp {
  static final int MAX_ERROR_BODY = 64 * 1024;
  static final int MAX_EVENT_CHARS = 4 * 1024 * 1024;
  static final long MAX_CONNECT_TIMEOUT_MS = 10_000;

  /** Handles one event; throws {@link ModelFailure} to stop the stream (an error event, bad JSON). */
  @FunctionalInterface
  interface EventHandler {
    void onEvent(SseParser.Event event);
  }

  private final Vertx vertx;
  private final Supplier<HttpClient> client;

  StreamingHttp(Vertx vertx, Supplier<HttpClient> client) {
    this.vertx = vertx;
    this.client = client;
  }

  Future<Void> postEventStream(ModelConfig model, String url, MultiMap headers, Buffer body, AbortSignal signal,
      EventHandler handler) {
    return new Exchange(model, url, headers, body, signal, handler).start();
  }

  /**
   * {@code err} carrying the tokens the call used before it failed, when it is a failure that can
   * carry them (a classified model failure or an abort); a stream that started was paid for.
   */
  static Throwable spent(Throwable err, Usage spent) {
    if (spent.isEmpty()) {
      return err;
    }
    if (err instanceof ModelFailure f) {
      return f.withUsage(spent);
    }
    if (err instanceof AbortSignal.Aborted a) {
      return a.withUsage(spent);
    }
    return err;
  }

  /** One request/response with its timers. Runs on the caller's context. */
  private final class Exchange {
    final ModelConfig model;
    final String url;
    final MultiMap headers;
    final Buffer body;
    final AbortSignal signal;
    final EventHandler handler;
    final Promise<Void> done = Promise.promise();
    HttpClientRequest request;
    long overallTimer = -1;
    long idleTimer = -1;
    long lastDataAt;

    Exchange(ModelConfig model, String url, MultiMap headers, Buffer body, AbortSignal signal, EventHandler handler) {
      this.model = model;
      this.url = url;
      this.headers = headers;
      this.body = body;
      this.signal = signal;
      this.handler = handler;
    }

    Future<Void> start() {
      if (signal.aborted()) {
        return Future.failedFuture(new AbortSignal.Aborted(signal.reason()));
      }
      overallTimer = vertx.setTimer(model.timeoutMs(), t -> fail(failure(FailureKind.TIMEOUT,
          "no complete answer within " + model.timeoutMs() + " ms (timeoutMs)")));
      armIdle();
      AbortSignal.Registration onAbort = signal.onAbort(() -> fail(new AbortSignal.Aborted(signal.reason())));
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
          .setHeaders(headers).setFollowRedirects(false)
          .setConnectTimeout(Math.min(model.timeoutMs(), MAX_CONNECT_TIMEOUT_MS));
      client.get().request(options)
          .onFailure(err -> fail(network(err)))
          .onSuccess(req -> {
            request = req;
            if (done.future().isComplete()) {
              req.reset();
              return;
            }
            req.exceptionHandler(err -> fail(network(err)));
            req.send(body).onFailure(err -> fail(network(err))).onSuccess(this::onResponse);
          });
      return done.future().onComplete(x -> {
        vertx.cancelTimer(overallTimer);
        vertx.cancelTimer(idleTimer);
        onAbort.remove();
      });
    }

    /**
     * Notes that something arrived. One timer watches for idleness: when it fires it looks at when
     * data last came and waits out the rest, rather than being replaced on every chunk (a streamed
     * answer is dozens of chunks).
     */
    private void armIdle() {
      lastDataAt = System.nanoTime();
      if (idleTimer < 0) {
        watchIdle(model.idleTimeoutMs());
      }
    }

    private void watchIdle(long delayMs) {
      idleTimer = vertx.setTimer(Math.max(1, delayMs), t -> {
        long idleMs = (System.nanoTime() - lastDataAt) / 1_000_000;
        if (idleMs >= model.idleTimeoutMs()) {
          fail(failure(FailureKind.TIMEOUT, "the stream was idle for " + model.idleTimeoutMs() + " ms (idleTimeoutMs)"));
        } else if (!done.future().isComplete()) {
          watchIdle(model.idleTimeoutMs() - idleMs);
        }
      });
    }

    private void onResponse(HttpClientResponse resp) {
      if (done.future().isComplete()) {
        return;
      }
      armIdle();
      int status = resp.statusCode();
      String contentType = resp.getHeader("content-type");
      if (status < 200 || status > 299) {
        readError(resp, text -> ErrorClassifier.http(model.provider(), model.model(), status,
            resp.getHeader("retry-after"), resp.getHeader("retry-after-ms"), text, model.apiKeys()));
        return;
      }
      if (contentType == null || !contentType.toLowerCase(java.util.Locale.ROOT).contains("text/event-stream")) {
        readError(resp, text -> failure(FailureKind.MALFORMED, "expected an event stream, got "
            + (contentType == null ? "no content type" : contentType)));
        return;
      }
      SseParser parser = new SseParser(handler::onEvent, MAX_EVENT_CHARS);
      resp.exceptionHandler(err -> fail(network(err)));
      resp.handler(chunk -> {
        if (done.future().isComplete()) {
          return;
        }
        armIdle();
        guarded(() -> parser.feed(chunk));
      });
      resp.endHandler(v -> {
        if (!done.future().isComplete()) {
          guarded(parser::end);
          done.tryComplete();
        }
      });
    }

    private void guarded(Runnable r) {
      try {
        r.run();
      } catch (ModelFailure f) {
        fail(f);
      } catch (SseParser.TooLarge e) {
        fail(failure(FailureKind.MALFORMED, e.getMessage()));
      } catch (RuntimeException e) {
        fail(failure(FailureKind.MALFORMED, "unreadable stream event: " + e.getMessage()));
      }
    }

    private void readError(HttpClientResponse resp, java.util.function.Function<String, ModelFailure> classify) {
      Buffer collected = Buffer.buffer();
      resp.exceptionHandler(err -> fail(classify.apply(collected.toString())));
      resp.handler(chunk -> {
        armIdle();
        if (collected.length() < MAX_ERROR_BODY) {
          collected.appendBuffer(chunk, 0, Math.min(chunk.length(), MAX_ERROR_BODY - collected.length()));
        }
      });
      resp.endHandler(v -> fail(classify.apply(collected.toString())));
    }

    private void fail(Throwable err) {
      if (done.tryFail(err) && request != null) {
        request.reset();
      }
    }

    private ModelFailure failure(FailureKind kind, String message) {
      return ModelFailure.of(kind, message, model.provider(), model.model());
    }

    private ModelFailure network(Throwable err) {
      if (err instanceof ModelFailure f) {
        return f;
      }
      String m = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
      List<Secret> secrets = model.apiKeys();
      FailureKind kind = m.toLowerCase(java.util.Locale.ROOT).contains("timed out") ? FailureKind.TIMEOUT
          : FailureKind.NETWORK;
      return failure(kind, "could not reach " + model.provider() + "/" + model.model() + ": "
          + Redactor.scrub(m, secrets));
    }
  }
}
