package dev.switchboard.http;

import dev.switchboard.agent.AgentRunner;
import dev.switchboard.agent.HistorySource;
import dev.switchboard.routing.SessionKeys;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The agent views operators read, shared by the protocol ({@code agent.inspect}, {@code status}) and
 * REST ({@code /api/sessions/{key}/context}, {@code /api/usage}): what the model would see for a
 * session, and token/cost totals. The context comes from the same assembler and provider code the
 * lane's agent loop uses, so the view is exactly what the next turn would send.
 */
final class AgentViews {
  static final int USAGE_ROWS = 100;

  private final WorkspaceConfig workspace;
  private final SessionStore sessions;
  private final AgentRunner runner;

  AgentViews(Vertx vertx, WorkspaceConfig workspace, WorkspaceBus bus, SessionStore sessions, EventStore events) {
    this.workspace = workspace;
    this.sessions = sessions;
    this.runner = new AgentRunner(vertx, bus, HistorySource.of(events, sessions), events, sessions);
  }

  /** The canonical form of a session key a client sent (fails with 400 for a malformed one). */
  String canonicalKey(String raw) {
    try {
      return SessionKeys.canonical(raw, workspace.defaultAgent().id(), workspace.session().mainKey());
    } catch (IllegalArgumentException e) {
      throw BusFailure.badRequest(e.getMessage());
    }
  }

  /** What the model would see for the next turn of {@code sessionKey} (canonical). */
  Future<JsonObject> context(String sessionKey) {
    AgentConfig agent = workspace.agent(SessionKeys.agentOf(sessionKey));
    if (agent == null) {
      return Future.failedFuture(BusFailure.notFound("no agent for session key \"" + sessionKey + "\""));
    }
    return sessions.head(sessionKey).compose(session -> runner.inspect(agent,
            session == null ? null : session.id(), workspace.session().historyLimit(),
            workspace.session().unmentionedContext())
        .map(view -> new JsonObject().put("sessionKey", sessionKey).put("sessionExists", session != null)
            .mergeIn(view)));
  }

  /** Totals of the workspace, and per session key (most tokens first). */
  Future<JsonObject> usage() {
    return Future.all(sessions.usageTotals(), sessions.usageByKey(USAGE_ROWS)).map(all -> {
      JsonArray rows = new JsonArray();
      java.util.List<JsonObject> byKey = all.resultAt(1);
      byKey.forEach(rows::add);
      return new JsonObject().put("workspace", workspace.id())
          .put("usage", ((dev.switchboard.store.UsageTotals) all.resultAt(0)).toJson()).put("sessions", rows);
    });
  }

  /** Totals of one session key, over every session id it has pointed at. */
  Future<JsonObject> usage(String sessionKey) {
    return sessions.usageOfKey(sessionKey).map(u -> new JsonObject().put("sessionKey", sessionKey)
        .put("usage", u.toJson()));
  }

  Future<Void> close() {
    return runner.close();
  }
}
