package dev.switchboard.agent;

/**
 * Event-bus addresses the agent loop sends to (workspace-local names). The agent owns them because
 * it produces the messages, while the consumer sits upstream of it: routing listens here and turns
 * each request into a normal inbound message of the target session. Upstream depends on this
 * contract; the agent never names routing or the lanes (see docs/architecture.md, one-way flow).
 */
public final class AgentAddresses {
  /**
   * {@link SessionSendRequest} → {@code {runId, sessionKey, sessionId, status, reply?}}: post a message
   * into another session of the workspace (the {@code session_send} tool). 404 when the session does
   * not exist, 400 when it is the sender's own session.
   */
  public static final String SESSION_SEND = "agent.sessions.send";
  /**
   * {@code {sessionId, text}} → {@code {sessionId, chars}}: replace a session's working memory (the
   * {@code working_memory_update} tool); an empty text clears it. The lanes serve it: they own the
   * session and keep what the next turn's context shows current. 400 when the text is longer than
   * {@link #WORKING_MEMORY_MAX_CHARS}, 404 for an unknown session.
   */
  public static final String WORKING_MEMORY = "agent.sessions.workingMemory";
  /** The longest working memory a session keeps. */
  public static final int WORKING_MEMORY_MAX_CHARS = 4_000;

  private AgentAddresses() {
  }
}
