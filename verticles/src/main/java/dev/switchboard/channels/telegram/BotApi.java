package dev.switchboard.channels.telegram;

import dev.switchboard.config.Secret;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * Calls to the Telegram Bot API ({@code POST <base>/bot<token>/<method>} with a JSON body). An
 * answer {@code {ok: true, result}} completes with the result; anything else fails with a
 * {@link Failure} that says what Telegram answered, or, when no answer came, whether the request
 * may have arrived. The token is part of every URL, so no message leaves this class without the
 * token cut out of it.
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
    /** No answer came, and the request may have reached Telegram (a timeout or a reset after sending). */
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

  private final WebClient client;
  private final String base;
  private final Secret token;

  BotApi(WebClient client, String apiBaseUrl, Secret token) {
    this.client = Objects.requireNonNull(client);
    this.base = apiBaseUrl;
    this.token = Objects.requireNonNull(token);
  }

  Future<Object> call(String method, JsonObject params, long timeoutMs) {
    return client.requestAbs(HttpMethod.POST, base + "/bot" + token.reveal() + "/" + method)
        .timeout(timeoutMs)
        .putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer(params.encode()))
        .transform(ar -> ar.succeeded() ? answer(ar.result()) : Future.failedFuture(transport(ar.cause())));
  }

  private Future<Object> answer(HttpResponse<Buffer> resp) {
    JsonObject body;
    try {
      body = resp.body() == null || resp.body().length() == 0 ? null : resp.bodyAsJsonObject();
    } catch (DecodeException | ClassCastException e) {
      body = null;
    }
    if (body == null) {
      // not Telegram's JSON (a proxy's error page): a 5xx means it was not handled
      return Future.failedFuture(new Failure(resp.statusCode() >= 200 && resp.statusCode() < 300 ? 502 : resp.statusCode(),
          "HTTP " + resp.statusCode() + " without a Bot API answer", null, false));
    }
    if (body.getBoolean("ok", false)) {
      return Future.succeededFuture(body.getValue("result"));
    }
    JsonObject parameters = body.getJsonObject("parameters", new JsonObject());
    Long retryAfter = parameters.getLong("retry_after");
    int code = body.getInteger("error_code", resp.statusCode());
    return Future.failedFuture(new Failure(code, redact(body.getString("description", "HTTP " + resp.statusCode())),
        retryAfter, false));
  }

  private Failure transport(Throwable err) {
    // refused before the request left (nothing arrived) vs. no answer after it left (it may have arrived)
    boolean notSent = err instanceof ConnectException || err instanceof UnknownHostException
        || err.getCause() instanceof ConnectException || err.getCause() instanceof UnknownHostException;
    return new Failure(0, err.getClass().getSimpleName() + ": " + redact(String.valueOf(err.getMessage())), null,
        !notSent);
  }

  /** The text with the token cut out (Vert.x puts the request URI into some exception messages). */
  String redact(String text) {
    return text == null ? null : text.replace(token.reveal(), "<token>");
  }
}
