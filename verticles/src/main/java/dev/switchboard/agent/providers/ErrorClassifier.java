package dev.switchboard.agent.providers;

import dev.switchboard.agent.FailureKind;
import dev.switchboard.agent.ModelFailure;
import dev.switchboard.agent.Redactor;
import dev.switchboard.config.Secret;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns what a provider answered (HTTP status, {@code Retry-After}, error body, or an error event in
 * the middle of a stream) into a {@link ModelFailure} of the right {@link FailureKind}. Knows the
 * error shapes of OpenAI ({@code {error:{message,type,code}}}), Anthropic
 * ({@code {type:"error",error:{type,message}}}) and the compatible local servers (Ollama's
 * {@code {error:"..."}}, llama.cpp, vLLM).
 */
final class ErrorClassifier {
  private static final int MAX_MESSAGE = 300;
  private static final Pattern CONTEXT_OVERFLOW = Pattern.compile(
      "context[ _-]?length|context window|maximum context|too many tokens|prompt is too long|input is too long"
          + "|exceeds? the (available )?context|reduce the length|context size|request too large",
      Pattern.CASE_INSENSITIVE);
  private static final Pattern BILLING = Pattern.compile(
      "insufficient[_ ]quota|credit balance|billing|exceeded your current quota|payment required",
      Pattern.CASE_INSENSITIVE);
  private static final Pattern REFUSAL = Pattern.compile("content[_ ]policy|content[_ ]filter|safety system",
      Pattern.CASE_INSENSITIVE);
  /** Provider error types and codes that say what happened regardless of the HTTP status. */
  private static final Map<String, FailureKind> TYPES = Map.ofEntries(
      Map.entry("rate_limit_error", FailureKind.RATE_LIMIT),
      Map.entry("rate_limit_exceeded", FailureKind.RATE_LIMIT),
      Map.entry("overloaded_error", FailureKind.OVERLOADED),
      Map.entry("authentication_error", FailureKind.AUTH),
      Map.entry("permission_error", FailureKind.AUTH),
      Map.entry("invalid_api_key", FailureKind.AUTH),
      Map.entry("insufficient_quota", FailureKind.BILLING),
      Map.entry("billing_error", FailureKind.BILLING),
      Map.entry("context_length_exceeded", FailureKind.CONTEXT_OVERFLOW),
      Map.entry("request_too_large", FailureKind.CONTEXT_OVERFLOW),
      Map.entry("api_error", FailureKind.SERVER),
      Map.entry("server_error", FailureKind.SERVER),
      Map.entry("timeout_error", FailureKind.TIMEOUT),
      Map.entry("not_found_error", FailureKind.BAD_REQUEST),
      Map.entry("model_not_found", FailureKind.BAD_REQUEST));

  private ErrorClassifier() {
  }

  /** What the provider's error body says, as far as it can be read. */
  record ErrorBody(String type, String code, String message) {
  }

  /** A non-2xx answer. */
  static ModelFailure http(String provider, String model, int status, String retryAfter, String retryAfterMs,
      String body, List<Secret> secrets) {
    ErrorBody e = parse(body);
    FailureKind kind = kind(status, e);
    String text = e.message != null ? e.message : body == null ? "" : body;
    String message = "HTTP " + status + " from " + provider + "/" + model + ": "
        + clip(Redactor.scrub(text.strip(), secrets));
    return new ModelFailure(kind, message, status, retryAfterMs(retryAfter, retryAfterMs),
        e.type != null ? e.type : e.code, provider, model);
  }

  /** An error reported inside a stream that had started with 200 (an {@code error} event or chunk). */
  static ModelFailure streamed(String provider, String model, JsonObject error, List<Secret> secrets) {
    ErrorBody e = fromError(error);
    FailureKind kind = kind(0, e);
    String message = "error from " + provider + "/" + model + " mid-stream: "
        + clip(Redactor.scrub(e.message == null ? error.encode() : e.message, secrets));
    return new ModelFailure(kind, message, 0, -1, e.type != null ? e.type : e.code, provider, model);
  }

  static FailureKind kind(int status, ErrorBody e) {
    String all = (e.type == null ? "" : e.type) + " " + (e.code == null ? "" : e.code) + " "
        + (e.message == null ? "" : e.message);
    FailureKind byType = null;
    for (String t : new String[] {e.code, e.type}) {
      if (t != null && TYPES.containsKey(t.toLowerCase(Locale.ROOT))) {
        byType = TYPES.get(t.toLowerCase(Locale.ROOT));
        break;
      }
    }
    if (byType == FailureKind.CONTEXT_OVERFLOW || status == 413
        || ((status == 400 || status == 422 || status == 0 || status == 500) && CONTEXT_OVERFLOW.matcher(all).find())) {
      return FailureKind.CONTEXT_OVERFLOW;
    }
    if (status == 401 || status == 403 || byType == FailureKind.AUTH) {
      return FailureKind.AUTH;
    }
    if (status == 402 || byType == FailureKind.BILLING || BILLING.matcher(all).find()) {
      return FailureKind.BILLING;
    }
    if (status == 429 || byType == FailureKind.RATE_LIMIT) {
      return FailureKind.RATE_LIMIT;
    }
    if (status == 503 || status == 529 || byType == FailureKind.OVERLOADED) {
      return FailureKind.OVERLOADED;
    }
    if ((status == 400 || status == 0) && REFUSAL.matcher(all).find()) {
      return FailureKind.REFUSAL;
    }
    if (status == 408 || status == 504 || byType == FailureKind.TIMEOUT) {
      return FailureKind.TIMEOUT;
    }
    if (status >= 500 || byType == FailureKind.SERVER) {
      return FailureKind.SERVER;
    }
    if (status == 400 || status == 404 || status == 422 || byType == FailureKind.BAD_REQUEST) {
      return FailureKind.BAD_REQUEST;
    }
    return FailureKind.UNKNOWN;
  }

  static ErrorBody parse(String body) {
    if (body == null || body.isBlank()) {
      return new ErrorBody(null, null, null);
    }
    try {
      Object v = Json.decodeValue(body);
      if (v instanceof JsonObject o) {
        Object err = o.getValue("error");
        if (err instanceof JsonObject eo) {
          return fromError(eo);
        }
        if (err instanceof String s) {
          return new ErrorBody(null, null, s); // Ollama
        }
        return new ErrorBody(o.getString("type"), null, o.getString("message"));
      }
    } catch (DecodeException | ClassCastException ignored) {
      // not JSON: the text itself is the message
    }
    return new ErrorBody(null, null, body);
  }

  private static ErrorBody fromError(JsonObject e) {
    Object code = e.getValue("code");
    return new ErrorBody(e.getValue("type") instanceof String t ? t : null, code == null ? null : code.toString(),
        e.getValue("message") instanceof String m ? m : null);
  }

  /** {@code retry-after-ms} (OpenAI) wins; else {@code Retry-After} as seconds or an HTTP date; -1 when absent. */
  static long retryAfterMs(String retryAfter, String retryAfterMs) {
    if (retryAfterMs != null) {
      try {
        return Math.max(0, (long) Double.parseDouble(retryAfterMs.trim()));
      } catch (NumberFormatException ignored) {
        // fall through to Retry-After
      }
    }
    if (retryAfter == null || retryAfter.isBlank()) {
      return -1;
    }
    String v = retryAfter.trim();
    try {
      return Math.max(0, Math.round(Double.parseDouble(v) * 1000));
    } catch (NumberFormatException ignored) {
      // an HTTP date
    }
    try {
      ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
      return Math.max(0, Duration.between(ZonedDateTime.now(at.getZone()), at).toMillis());
    } catch (DateTimeParseException e) {
      return -1;
    }
  }

  private static String clip(String s) {
    return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "…";
  }
}
