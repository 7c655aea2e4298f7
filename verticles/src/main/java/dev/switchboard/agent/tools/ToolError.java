package dev.switchboard.agent.tools;

/** A failure the model should read and can act on (bad arguments, unknown session, refused access). */
public final class ToolError extends RuntimeException {
  public ToolError(String message) {
    super(message, null, false, false);
  }
}
