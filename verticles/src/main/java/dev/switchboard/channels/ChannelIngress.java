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
 * its platform only after {@link #accept} succeeded.
 */
public final class ChannelIngress {
  private static final long ROUTING_TIMEOUT_MS = 30_000;

  private final WorkspaceBus bus;
  private final InboundStore inbound;

  public ChannelIngress(WorkspaceBus bus, InboundStore inbound) {
    this.bus = Objects.requireNonNull(bus);
    this.inbound = Objects.requireNonNull(inbound);
  }

  /**
   * Answers routing's reply ({@code {runId, status, sessionKey?, sessionId?}}), or, for a message
   * stored before, {@code {runId, status: in_flight | ok | rejected, duplicate: true}}.
   */
  public Future<JsonObject> accept(Inbound in) {
    Inbound withRun = in.runId() != null ? in : new Inbound(null, Ids.next(), in.channel(), in.accountId(),
        in.peerKind(), in.peerId(), in.parentPeerId(), in.threadId(), in.threadKind(), in.guildId(), in.roles(),
        in.teamId(), in.senderId(), in.senderName(), in.text(), in.platformMessageId(), in.mentioned(), in.replyTo(),
        in.sessionKey(), in.agentId(), in.operator(), in.queueMode(), in.receivedAt(), in.clientMode());
    return inbound.accept(withRun.channel(), withRun.accountId(), withRun.platformMessageId(), withRun.runId(),
            withRun.toJson())
        .compose(rec -> {
          if (rec.duplicate() && !rec.routable()) {
            return Future.succeededFuture(repeated(rec));
          }
          // new, or stored but never taken by a lane (refused by a full queue, routing was down): route
          // it (again); the lane answers in_flight if a concurrent copy got there first
          Inbound stored = rec.duplicate() ? Inbound.fromJson(rec.payload()) : withRun;
          Future<JsonObject> routed = bus.request(RoutingAddresses.INBOUND, stored.withInboundId(rec.id()).toJson(),
              ROUTING_TIMEOUT_MS);
          return rec.duplicate() ? routed.map(reply -> reply.copy().put("duplicate", true)) : routed;
        });
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
