package dev.switchboard.routing;

/** Event-bus addresses of the routing verticle (workspace-local names). */
public final class RoutingAddresses {
  /**
   * {@link Inbound} → {@code {runId, sessionKey, sessionId, agentId, status}} where status is
   * {@code started | in_flight | ok | stored | rejected | pairing} ({@code pairing}: an unknown DM sender on a
   * pairing account; {@code pairing} then says {@code code_sent | code_resent | pending | full | failed}).
   */
  public static final String INBOUND = "routing.inbound";

  private RoutingAddresses() {
  }
}
