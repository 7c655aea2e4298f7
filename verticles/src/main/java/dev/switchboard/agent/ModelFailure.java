package dev.switchboard.agent;

import io.vertx.core.json.JsonObject;

/**
 * A classified failure of one model call. Messages are safe to show and log: they never carry a key
 * (provider error texts are passed through {@link Redactor} before they get here).
 */
public final class ModelFailure extends RuntimeException {
  private static final int MAX_DETAIL = 300;

  private final FailureKind kind;
  private final int httpStatus;
  private final long retryAfterMs;
  private final String providerErrorType;
  private final String provider;
  private final String model;
  private final Usage usage;

  /**
   * @param httpStatus   0 when there was no HTTP status (timeout, broken stream)
   * @param retryAfterMs the provider's {@code Retry-After}, or -1 when it gave none
   */
  public ModelFailure(FailureKind kind, String message, int httpStatus, long retryAfterMs, String providerErrorType,
      String provider, String model) {
    this(kind, message, httpStatus, retryAfterMs, providerErrorType, provider, model, Usage.NONE);
  }

  private ModelFailure(FailureKind kind, String message, int httpStatus, long retryAfterMs, String providerErrorType,
      String provider, String model, Usage usage) {
    super(message, null, false, false);
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.retryAfterMs = retryAfterMs;
    this.providerErrorType = providerErrorType;
    this.provider = provider;
    this.model = model;
    this.usage = usage;
  }

  public static ModelFailure of(FailureKind kind, String message, String provider, String model) {
    return new ModelFailure(kind, message, 0, -1, null, provider, model);
  }

  public FailureKind kind() {
    return kind;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public long retryAfterMs() {
    return retryAfterMs;
  }

  public String providerErrorType() {
    return providerErrorType;
  }

  public String provider() {
    return provider;
  }

  public String model() {
    return model;
  }

  /**
   * Tokens the failed call used before it failed ({@link Usage#NONE} when the provider refused it
   * before answering): what it reported, the rest estimated and flagged so.
   */
  public Usage usage() {
    return usage;
  }

  /** This failure, carrying what the call used. */
  public ModelFailure withUsage(Usage spent) {
    return new ModelFailure(kind, getMessage(), httpStatus, retryAfterMs, providerErrorType, provider, model, spent);
  }

  /** The protocol's {@code errorDetail}: provider, model, httpStatus, providerErrorType, failoverReason. */
  public JsonObject detail() {
    JsonObject d = new JsonObject().put("provider", clip(provider)).put("model", clip(model))
        .put("failoverReason", kind.id());
    if (httpStatus > 0) {
      d.put("httpStatus", httpStatus);
    }
    if (providerErrorType != null) {
      d.put("providerErrorType", clip(providerErrorType));
    }
    if (retryAfterMs >= 0) {
      d.put("retryAfterMs", retryAfterMs);
    }
    return d;
  }

  static String clip(String s) {
    return s == null || s.length() <= MAX_DETAIL ? s : s.substring(0, MAX_DETAIL);
  }
}
