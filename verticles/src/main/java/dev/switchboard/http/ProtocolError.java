package dev.switchboard.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The protocol's one error shape ({@code {code, message, details?, retryable?, retryAfterMs?}}).
 * Handlers throw or fail with it; the connection turns it into a well-formed {@code res} frame.
 */
public final class ProtocolError extends RuntimeException {
  public static final String INVALID_REQUEST = "INVALID_REQUEST";
  public static final String FORBIDDEN = "FORBIDDEN";
  public static final String UNAVAILABLE = "UNAVAILABLE";
  public static final String NOT_PAIRED = "NOT_PAIRED";
  public static final String APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND";

  private final String code;
  private final JsonObject details;
  private final Boolean retryable;
  private final Long retryAfterMs;
  private final JsonObject payload;

  public ProtocolError(String code, String message, JsonObject details, Boolean retryable, Long retryAfterMs) {
    this(code, message, details, retryable, retryAfterMs, null);
  }

  private ProtocolError(String code, String message, JsonObject details, Boolean retryable, Long retryAfterMs,
      JsonObject payload) {
    super(message == null || message.isBlank() ? code.toLowerCase() : message, null, false, false);
    this.code = code;
    this.details = details;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs == null ? null : Math.max(0, retryAfterMs);
    this.payload = payload;
  }

  /** The same error, answered together with a payload (the schema allows one beside a failure). */
  public ProtocolError withPayload(JsonObject payload) {
    return new ProtocolError(code, getMessage(), details, retryable, retryAfterMs, payload);
  }

  public static ProtocolError invalid(String message) {
    return new ProtocolError(INVALID_REQUEST, message, null, null, null);
  }

  public static ProtocolError invalidParams(String method, String why) {
    return invalid("invalid " + method + " params: " + why);
  }

  public static ProtocolError unknownMethod(String method) {
    return invalid("unknown method: " + method);
  }

  public static ProtocolError missingScope(String scope) {
    return new ProtocolError(FORBIDDEN, "missing scope: " + scope, new JsonObject().put("code", "MISSING_SCOPE")
        .put("missingScope", scope).put("requiredScopes", new JsonArray().add(scope)), null, null);
  }

  public static ProtocolError unavailable(String message, Long retryAfterMs) {
    return new ProtocolError(UNAVAILABLE, message, null, true, retryAfterMs);
  }

  public String code() {
    return code;
  }

  public JsonObject details() {
    return details;
  }

  /** What accompanies the failure in the response frame, or null. */
  public JsonObject payload() {
    return payload;
  }

  public JsonObject toJson() {
    JsonObject j = new JsonObject().put("code", code).put("message", getMessage());
    if (details != null) {
      j.put("details", details);
    }
    if (retryable != null) {
      j.put("retryable", retryable);
    }
    if (retryAfterMs != null) {
      j.put("retryAfterMs", retryAfterMs);
    }
    return j;
  }
}
