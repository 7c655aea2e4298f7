package dev.switchboard.channels;

import dev.switchboard.routing.Inbound;
import dev.switchboard.routing.RoutingAddresses;
import dev.switchboard.store.Ids;
import dev.switchboard.store.InboundRecord;
import dev.switchboard.store.InboundStore;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Objects;

/**
 * How every channel adapter hands a message in: store it first (unique on channel, account and
 * platform message id, so a replayed update is a no-op), then route it. The adapter acknowledges
 * its platform once the message is stored: after {@link #accept} (stored and routed) or, where the
 * platform should not wait for routing, after {@link #store} and before {@link #route}. A stored
 * message that was never routed (the process ended first) is routed again at the next start.
 */
public final class ChannelIngress {
  private static final long ROUTING_TIMEOUT_MS = 30_000;

  /** A message as stored: its record (a replay's is the earlier copy) and the message to route. */
  public record Stored(InboundRecord record, Inbound inbound) {
  }

  private final WorkspaceBus bus;
  private final InboundStore inbound;

  public ChannelIngress(WorkspaceBus bus, InboundStore inbound) {
    this.bus = Objects.requireNonNull(bus);
    this.inbound = Objects.requireNonNull(inbound);
  }

  /**
   * Answers routing's reply ({@code {runId, status, sessionKey?, sessionId?}}; status
   * {@link InboundRecord#REFUSED} with a {@code reason} when the session's full queue refused it), or,
   * for a message stored before,
   * {@code {runId, status: in_flight | ok | rejected, duplicate: true}}.
   */
  public Future<JsonObject> accept(Inbound in) {
    return store(in).compose(this::route);
  }

  /** Stores the message, or finds the copy stored before; completes once it is durable. */
  public Future<Stored> store(Inbound in) {
    Inbound withRun = in.runId() != null ? in : new Inbound(null, Ids.next(), in.channel(), in.accountId(),
        in.peerKind(), in.peerId(), in.parentPeerId(), in.threadId(), in.threadKind(), in.guildId(), in.roles(),
        in.teamId(), in.senderId(), in.senderName(), in.text(), in.platformMessageId(), in.mentioned(), in.replyTo(),
        in.sessionKey(), in.agentId(), in.operator(), in.queueMode(), in.receivedAt(), in.clientMode());
    return inbound.accept(withRun.channel(), withRun.accountId(), withRun.platformMessageId(), withRun.runId(),
            withRun.toJson())
        .map(rec -> new Stored(rec, rec.duplicate() ? Inbound.fromJson(rec.payload()) : withRun));
  }

  /** Routes a stored message; answers as {@link #accept} does. */
  public Future<JsonObject> route(Stored s) {
    InboundRecord rec = s.record();
    if (rec.duplicate() && !rec.routable()) {
      return Future.succeededFuture(repeated(rec));
    }
    // new, or stored but never taken by a lane (refused by a full queue, routing was down): route it
    // (again); the lane answers in_flight if a concurrent copy got there first
    Future<JsonObject> routed = bus.request(RoutingAddresses.INBOUND, s.inbound().withInboundId(rec.id()).toJson(),
        ROUTING_TIMEOUT_MS);
    return rec.duplicate() ? routed.map(reply -> reply.copy().put("duplicate", true)) : routed;
  }

  private static JsonObject repeated(InboundRecord rec) {
    String status = !rec.finished() ? "in_flight" : InboundRecord.REJECTED.equals(rec.status()) ? "rejected" : "ok";
    JsonObject j = new JsonObject().put("runId", rec.runId()).put("status", status).put("duplicate", true);
    if (rec.sessionKey() != null) {
      j.put("sessionKey", rec.sessionKey()).put("sessionId", rec.sessionId());
    }
    return j;
  }
}
