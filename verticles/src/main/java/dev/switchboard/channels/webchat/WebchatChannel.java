package dev.switchboard.channels.webchat;

import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.routing.Inbound;
import dev.switchboard.channels.ChannelIngress;
import dev.switchboard.store.InboundRecord;
import dev.switchboard.store.InboundStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webchat channel: messages typed into a WebSocket client (the webchat page, OpenClaw's CLI and
 * TUI). Inbound, it stores each message under its idempotency key (a repeated key never starts a
 * second turn) and hands it to routing. Outbound, it is delivery's outlet for webchat replies, which
 * it passes to the protocol layer to show as the run's final event.
 */
public final class WebchatChannel {
  private static final Logger LOG = LoggerFactory.getLogger(WebchatChannel.class);
  public static final String CHANNEL = "webchat";
  public static final String ACCOUNT = "default";

  private final WorkspaceBus bus;
  private final ChannelIngress ingress;
  private final Consumer<ChannelOutlet.Request> replies;

  /**
   * A message from a webchat client.
   *
   * @param sessionKey     the session the client addresses (raw; routing canonicalises it)
   * @param idempotencyKey the client's key; also the run id
   * @param queueMode      requested queue mode, or null
   * @param clientMode     the client's mode as it announced it on connect ({@code cli}, {@code webchat}, …), or null
   */
  public record Message(String sessionKey, String agentId, String text, String idempotencyKey, String senderId,
      String senderName, String queueMode, String clientMode) {
  }

  public WebchatChannel(WorkspaceBus bus, InboundStore inbound, Consumer<ChannelOutlet.Request> replies) {
    this.bus = Objects.requireNonNull(bus);
    this.ingress = new ChannelIngress(bus, inbound);
    this.replies = Objects.requireNonNull(replies);
  }

  /** Serves delivery's outlet for webchat and tells delivery what webchat takes (whole replies, Markdown). */
  public Future<Void> start() {
    return bus.<JsonObject>consumer(ChannelOutlet.address(CHANNEL, ACCOUNT), msg -> {
      ChannelOutlet.Request req;
      try {
        req = ChannelOutlet.Request.fromJson(msg.body());
      } catch (RuntimeException e) {
        msg.fail(ChannelOutlet.REJECTED, "malformed send request");
        return;
      }
      if (!ChannelOutlet.SEND.equals(req.op())) {
        msg.fail(ChannelOutlet.UNSUPPORTED, "webchat shows replies as events; it has no " + req.op());
        return;
      }
      try {
        replies.accept(req);
      } catch (RuntimeException e) {
        BusFailure.reply(msg, e, LOG);
        return;
      }
      msg.reply(ChannelOutlet.Receipt.of(req.obligationId()).toJson());
    }).completion().onSuccess(v -> bus.send(DeliveryAddresses.REGISTER,
        new ChannelOutlet.Profile(CHANNEL, ACCOUNT, 0, false, 0, "markdown", false).toJson()));
  }

  /**
   * Stores and routes a message. Answers {@code {runId, status, sessionKey?, sessionId?}}; status is
   * {@code in_flight} or {@code ok} for a key seen before.
   */
  public Future<JsonObject> submit(Message m) {
    return ingress.accept(new Inbound(null, m.idempotencyKey(), CHANNEL, ACCOUNT, "direct", m.senderId(), null, null,
            null, null, List.of(), null, m.senderId(), m.senderName(), m.text(), m.idempotencyKey(), true, null,
            m.sessionKey(), m.agentId(), true, m.queueMode(), System.currentTimeMillis(), m.clientMode()))
        // a webchat client learns of a full queue as its request's (retryable) error
        .compose(r -> InboundRecord.REFUSED.equals(r.getString("status"))
            ? Future.failedFuture(new BusFailure.Coded(BusFailure.BUSY, r.getString("reason", "session queue is full")))
            : Future.succeededFuture(r));
  }
}
