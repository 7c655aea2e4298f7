package dev.switchboard.lanes;

/** Event-bus addresses of the lane verticle (workspace-local names). */
public final class LaneAddresses {
  /**
   * {@link TurnRequest} → {@code {runId, status: started | stored | in_flight | ok, sessionId}}; 429 when the
   * session's queue is full (and the workspace refuses new messages rather than dropping the oldest).
   */
  public static final String ENQUEUE = "lanes.enqueue";
  /**
   * {@code {sessionKey, text, label?}} → {@code {messageId, seq, sessionId, message}}: stores an assistant
   * note in the session's current session without running a turn (operator notes); 404 for an unknown session.
   */
  public static final String NOTE = "lanes.note";
  /**
   * {@code {sessionKey}} → {@code {sessionId}}: deletes the key's current session with its transcript, when it is a
   * direct session and nothing runs or waits in it; 404 unknown, 409 otherwise (group sessions are kept).
   */
  public static final String DELETE = "lanes.delete";
  /** {@code {sessionKey?, runId?}} → {@code {aborted, runIds}}: abort the given run, or the session's running one. */
  public static final String ABORT = "lanes.abort";
  /** {@code {runId, timeoutMs}} → the run's outcome ({@link RunRegistry.Run#toJson()}) or {@code {status: timeout}}. */
  public static final String WAIT = "lanes.wait";
  /** {@code {runId}} → the run's current state, or 404. */
  public static final String RUN = "lanes.run";
  /** {@code {sessionKey?}} → what runs and what waits, per session, and why. */
  public static final String STATUS = "lanes.status";
  /** Published: every {@link LiveEvent} of every session in the workspace. */
  public static final String EVENTS = "session.events";

  private LaneAddresses() {
  }
}
