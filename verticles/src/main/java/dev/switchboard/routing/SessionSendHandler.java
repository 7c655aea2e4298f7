package dev.switchboard.routing;

import dev.switchboard.agent.AgentAddresses;
import dev.switchboard.agent.SessionSendRequest;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.lanes.TurnRequest;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.Ids;
import dev.switchboard.store.InboundRecord;
import dev.switchboard.store.InboundStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routing's side of the {@code session_send} tool ({@link AgentAddresses#SESSION_SEND}): a message an
 * agent posts into another session of its workspace. It is handled like any inbound message of the
 * internal channel {@value #CHANNEL}: stored first (unique per sending run and tool call, so a
 * repeated request posts once), resumed after a restart, and queued in the target session's lane
 * (queue mode {@code followup}). The reply goes where the target session's conversation lives: the
 * origin of its latest user message, or webchat when it has none.
 *
 * <p>Why routing and an address owned by the agent: the agent loop is downstream of routing and the
 * lanes and may not name them. It sends on its own address; routing, upstream, listens (the same
 * direction as the lanes' published session events, which the HTTP layer consumes). Only a turn
 * started by an owner may post (the session tools' rule), and never into its own session.
 */
final class SessionSendHandler {
  private static final Logger LOG = LoggerFactory.getLogger(SessionSendHandler.class);
  /** The internal channel of messages posted by agents. */
  static final String CHANNEL = "session";
  private static final long LANE_TIMEOUT_MS = 30_000;
  private static final long WAIT_SLACK_MS = 5_000;

  private final WorkspaceConfig workspace;
  private final WorkspaceBus bus;
  private final SessionStore sessions;
  private final InboundStore inbound;
  private final EventStore events;

  SessionSendHandler(WorkspaceConfig workspace, WorkspaceBus bus, SessionStore sessions, InboundStore inbound,
      EventStore events) {
    this.workspace = workspace;
    this.bus = bus;
    this.sessions = sessions;
    this.inbound = inbound;
    this.events = events;
  }

  Future<Void> start() {
    return bus.<JsonObject>consumer(AgentAddresses.SESSION_SEND, this::onSend).completion();
  }

  private void onSend(Message<JsonObject> msg) {
    SessionSendRequest req;
    String key;
    try {
      req = SessionSendRequest.fromJson(msg.body());
      if (req.text() == null || req.text().isBlank() || req.fromRunId() == null || req.toolCallId() == null
          || req.fromSessionId() == null) {
        throw new IllegalArgumentException("text, fromSessionId, fromRunId and toolCallId are required");
      }
      key = SessionKeys.canonical(req.targetSessionKey(), workspace.defaultAgent().id(),
          workspace.session().mainKey());
    } catch (RuntimeException e) {
      msg.fail(BusFailure.BAD_REQUEST, "malformed session_send: " + e.getMessage());
      return;
    }
    send(req, key).onSuccess(msg::reply).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }

  private Future<JsonObject> send(SessionSendRequest req, String key) {
    if (key.equals(req.fromSessionKey())) {
      return Future.failedFuture(BusFailure.badRequest("a session cannot post into itself"));
    }
    if (!req.senderOwner()) {
      return Future.failedFuture(new BusFailure.Coded(BusFailure.FORBIDDEN,
          "only a turn started by an owner may post into other sessions"));
    }
    return sessions.head(key).compose(target -> {
      if (target == null) {
        return Future.failedFuture(BusFailure.notFound("no session \"" + key + "\""));
      }
      if (workspace.agent(target.agentId()) == null) {
        return Future.failedFuture(BusFailure.badRequest("session \"" + key + "\" belongs to no configured agent"));
      }
      return events.latest(target.id(), SessionEvent.USER_MESSAGE).compose(last -> {
        JsonObject origin = last == null ? null : last.payload().getJsonObject("origin");
        ReplyTarget deliverTo = origin != null && origin.getString("channel") != null ? ReplyTarget.fromJson(origin)
            : new ReplyTarget("webchat", "default", "direct", key, null, null);
        String platformId = req.fromRunId() + ":" + req.toolCallId();
        String runId = Ids.next();
        JsonObject payload = new JsonObject().put("request", req.toJson()).put("targetSessionKey", key)
            .put("agentId", target.agentId()).put("deliverTo", deliverTo.toJson())
            .put("receivedAt", System.currentTimeMillis());
        return inbound.accept(CHANNEL, req.fromSessionId(), platformId, runId, payload).compose(rec -> {
          if (rec.duplicate()) {
            return Future.succeededFuture(new JsonObject().put("runId", rec.runId()).put("sessionKey", key)
                .put("sessionId", rec.sessionId()).put("status", rec.finished() ? "ok" : "in_flight"));
          }
          return enqueue(rec, false);
        });
      });
    }).compose(routed -> req.waitMs() <= 0 ? Future.succeededFuture(routed) : awaitReply(routed, req.waitMs()));
  }

  /** Resumes a message accepted before a restart (routing's replay hands over this channel's records). */
  Future<JsonObject> resume(InboundRecord rec) {
    return enqueue(rec, true);
  }

  /** Queues the stored message in the target session's lane (its current session, which /new may have rolled). */
  private Future<JsonObject> enqueue(InboundRecord rec, boolean resumed) {
    JsonObject p = rec.payload();
    SessionSendRequest req = SessionSendRequest.fromJson(p.getJsonObject("request"));
    String key = p.getString("targetSessionKey");
    return sessions.head(key).compose(target -> {
      if (target == null) {
        return inbound.finish(rec.id(), InboundRecord.REJECTED)
            .compose(v -> Future.failedFuture(BusFailure.notFound("no session \"" + key + "\"")));
      }
      String text = "[message from agent " + req.fromAgentId() + ", session " + req.fromSessionKey() + "]\n"
          + req.text();
      JsonObject sender = new JsonObject().put("id", "agent:" + req.fromAgentId())
          .put("name", "agent " + req.fromAgentId()).put("person", "agent:" + req.fromAgentId())
          .put("owner", req.senderOwner()).put("operator", false);
      TurnRequest turn = new TurnRequest(rec.runId(), rec.id(), key, target.id(), target.agentId(), text, req.text(),
          sender, ReplyTarget.fromJson(p.getJsonObject("deliverTo")), "followup", true, false, null,
          p.getLong("receivedAt", System.currentTimeMillis()), target.source(), new JsonObject(), resumed, false);
      return bus.request(LaneAddresses.ENQUEUE, turn.toJson(), LANE_TIMEOUT_MS)
          .map(lane -> new JsonObject().put("runId", rec.runId()).put("sessionKey", key)
              .put("sessionId", lane.getString("sessionId", target.id())).put("agentId", target.agentId())
              .put("status", lane.getString("status")).put("reason", lane.getString("reason")));
    });
  }

  private Future<JsonObject> awaitReply(JsonObject routed, long waitMs) {
    return bus.request(LaneAddresses.WAIT, new JsonObject().put("runId", routed.getString("runId"))
            .put("timeoutMs", waitMs), waitMs + WAIT_SLACK_MS)
        .map(outcome -> {
          JsonObject out = routed.copy().put("status", outcome.getString("status"));
          if ("ok".equals(outcome.getString("status"))) {
            out.put("reply", outcome.getString("text", ""));
          }
          return out;
        });
  }
}
