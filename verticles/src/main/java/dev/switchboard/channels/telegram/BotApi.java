package dev.switchboard.channels.telegram;

import dev.switchboard.config.Secret;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.Objects;

/**
 * Calls to the Telegram Bot API ({@code POST <base>/bot<token>/<method>} with a JSON body). An
 * answer {@code {ok: true, result}} completes with the result; anything else fails with a
 * {@link Failure} that says what Telegram answered, or, when no answer came, whether the request
 * may have arrived: it cannot have when no connection was made (refused, unreachable, TLS failed)
 * or when the request was not written out whole before the connection broke; once it was, a lost
 * answer (a reset, a timeout) leaves the outcome unknown. The token is part of every URL, so no
 * message leaves this class without the token cut out of it.
 */
final class BotApi {
  /** Why a call failed. */
  static final class Failure extends RuntimeException {
    /** Telegram's error_code (the HTTP status), or 0 when no answer came. */
    final int errorCode;
    /** Telegram's description, e.g. {@code Bad Request: message is not modified: ...}. */
    final String description;
    /** {@code parameters.retry_after} in seconds, or null. */
    final Long retryAfterSeconds;
    /** No answer came, and the request may have reached Telegram (it was written out whole). */
    final boolean outcomeUnknown;

    Failure(int errorCode, String description, Long retryAfterSeconds, boolean outcomeUnknown) {
      super(description, null, false, false);
      this.errorCode = errorCode;
      this.description = description == null ? "" : description;
      this.retryAfterSeconds = retryAfterSeconds;
      this.outcomeUnknown = outcomeUnknown;
    }

    boolean answered() {
      return errorCode > 0;
    }

    boolean says(String fragment) {
      return description.toLowerCase(java.util.Locale.ROOT).contains(fragment);
    }
  }

  private final HttpClient client;
  private final String base;
  private final Secret token;

  BotApi(HttpClient client, String apiBaseUrl, Secret token) {
    this.client = Objects.requireNonNull(client);
    this.base = apiBaseUrl;
    this.token = Objects.requireNonNull(token);
  }

  /** {@code timeoutMs}: how long the call may go without a byte of the answer (a long poll's wait included). */
  Future<Object> call(String method, JsonObject params, long timeoutMs) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
        .setAbsoluteURI(base + "/bot" + token.reveal() + "/" + method)
        .setIdleTimeout(timeoutMs)
        .putHeader("Content-Type", "application/json")
        .putHeader("User-Agent", "switchboard");
    Buffer body = Buffer.buffer(params.encode());
    // no connection: nothing of the request left this process
    return client.request(options).transform(ar -> ar.succeeded() ? exchange(ar.result(), body)
        : Future.failedFuture(noAnswer(ar.cause(), false)));
  }

  /** An HTTP answer as it came. */
  private record Raw(int status, Buffer body) {
  }

  private Future<Object> exchange(HttpClientRequest req, Buffer body) {
    Future<Void> written = req.end(body);
    Future<Raw> answer = req.response().compose(resp -> resp.body().map(b -> new Raw(resp.statusCode(), b)));
    // both settle when the connection breaks; only a request written out whole can have arrived
    return Future.join(written, answer).transform(x -> answer.succeeded() ? answer(answer.result())
        : Future.failedFuture(noAnswer(answer.cause(), written.succeeded())));
  }

  private Future<Object> answer(Raw raw) {
    int status = raw.status();
    JsonObject body;
    try {
      body = raw.body() == null || raw.body().length() == 0 ? null : raw.body().toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      body = null;
    }
    if (body == null) {
      // not Telegram's JSON (a proxy's error page): a 5xx means it was not handled
      return Future.failedFuture(new Failure(status >= 200 && status < 300 ? 502 : status,
          "HTTP " + status + " without a Bot API answer", null, false));
    }
    if (body.getBoolean("ok", false)) {
      return Future.succeededFuture(body.getValue("result"));
    }
    JsonObject parameters = body.getJsonObject("parameters", new JsonObject());
    Long retryAfter = parameters.getLong("retry_after");
    int code = body.getInteger("error_code", status);
    return Future.failedFuture(new Failure(code, redact(body.getString("description", "HTTP " + status)),
        retryAfter, false));
  }

  private Failure noAnswer(Throwable err, boolean mayHaveArrived) {
    return new Failure(0, err.getClass().getSimpleName() + ": " + redact(String.valueOf(err.getMessage())), null,
        mayHaveArrived);
  }

  /** The text with the token cut out (Vert.x puts the request URI into some exception messages). */
  String redact(String text) {
    return text == null ? null : text.replace(token.reveal(), "<token>");
  }
}
