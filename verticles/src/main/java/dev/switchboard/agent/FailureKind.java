package dev.switchboard.agent;

/**
 * Why a model call or a turn failed. The classification decides what failover does next and what
 * the client is told ({@link #protocolKind()}: the chat {@code error} event's {@code errorKind}).
 */
public enum FailureKind {
  /** 429: too many requests or tokens for this key; rotate the key, wait, or move on. */
  RATE_LIMIT("rate_limit", true),
  /** 503/529: the provider is overloaded; wait and retry, then move on. */
  OVERLOADED("rate_limit", true),
  /** 401/403: the key is wrong or lacks permission; rotate the key or move on, never retry it soon. */
  AUTH("unknown", false),
  /** 402 or a quota/credit error: the account cannot pay; rotate the key or move on. */
  BILLING("unknown", false),
  /** The prompt is larger than the model's context: compact and retry once. */
  CONTEXT_OVERFLOW("context_length", false),
  /** No answer in time: the stream went idle or the call exceeded its overall timeout. */
  TIMEOUT("timeout", true),
  /** The model declined to answer (content filter, refusal stop reason). Never retried elsewhere. */
  REFUSAL("refusal", false),
  /** 400/404/422: the provider rejected the request (unknown model, bad parameter); move on. */
  BAD_REQUEST("unknown", false),
  /** 5xx other than overload. */
  SERVER("unknown", true),
  /** The connection failed or the stream ended before the answer was complete. */
  NETWORK("unknown", true),
  /** The provider sent something that is not its protocol (bad SSE, bad JSON). */
  MALFORMED("unknown", true),
  /** The loop detector stopped the turn: the model repeated the same tool call. */
  LOOP("unknown", false),
  /** Too many tool calls in a row failed. */
  TOOL_FAILURES("unknown", false),
  /** The model still asked for tools at the turn's last allowed step. */
  STEP_LIMIT("unknown", false),
  /** The turn was aborted (user, interrupt, deadline, shutdown). */
  ABORTED("unknown", false),
  UNKNOWN("unknown", false);

  private final String protocolKind;
  private final boolean retryable;

  FailureKind(String protocolKind, boolean retryable) {
    this.protocolKind = protocolKind;
    this.retryable = retryable;
  }

  /** {@code refusal | timeout | rate_limit | context_length | unknown}. */
  public String protocolKind() {
    return protocolKind;
  }

  /** Worth another attempt at the same model after a pause. */
  public boolean retryable() {
    return retryable;
  }

  /** Lower-case name used in events and logs ({@code rate_limit}, {@code context_overflow}, ...). */
  public String id() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
