package dev.switchboard.agent;

import io.vertx.core.json.JsonObject;

/**
 * A turn that ended without an answer, with what it cost so far. The lane stores {@link #kind()}'s
 * protocol kind in the {@code error} event and {@code agent_end}, so clients see why.
 *
 * @see FailureKind
 */
public final class TurnFailure extends RuntimeException {
  private final FailureKind kind;
  private final JsonObject detail;
  private final Usage usage;
  private final Double costUsd;
  private final int steps;

  public TurnFailure(FailureKind kind, String message, JsonObject detail, Usage usage, Double costUsd, int steps,
      Throwable cause) {
    super(message, cause, false, false);
    this.kind = kind;
    this.detail = detail == null ? new JsonObject() : detail;
    this.usage = usage == null ? Usage.NONE : usage;
    this.costUsd = costUsd;
    this.steps = steps;
  }

  public FailureKind kind() {
    return kind;
  }

  /** The protocol's {@code errorDetail} (provider, model, httpStatus, failoverReason, ...). */
  public JsonObject detail() {
    return detail.copy();
  }

  /** Tokens the turn used before it failed. */
  public Usage usage() {
    return usage;
  }

  /** Estimated cost of those tokens in USD, or null when a model's price is unknown. */
  public Double costUsd() {
    return costUsd;
  }

  /** Model calls made. */
  public int steps() {
    return steps;
  }
}
