package dev.switchboard.delivery;

/** Event-bus addresses of the delivery verticle (workspace-local names). */
public final class DeliveryAddresses {
  /**
   * {@code {obligationId, obligation?}}: an obligation was committed; deliver it now (fire and forget). The
   * committer may hand the obligation itself along, which saves delivery reading it back.
   */
  public static final String DISPATCH = "delivery.dispatch";
  /** {@code {}} → {@code {pending, sending, delivered, failed, ambiguous}} counts. */
  public static final String STATS = "delivery.stats";
  /** {@link ChannelOutlet.Profile}: a channel adapter announces an account it serves (send, no reply needed). */
  public static final String REGISTER = "delivery.register";
  /**
   * {@code {runId, target, text}}: a streaming reply's visible text so far, for channels that edit a
   * preview message; {@code {runId, target, end: aborted | interrupt}} when the run ends without a final.
   */
  public static final String PREVIEW = "delivery.preview";
  /**
   * {@code {target, text, idempotencyKey?, mirrorSessionKey?}} → {@code {obligationId, channel, accountId, target}}:
   * deliver a message to a chat the sender already resolved, as a {@link ReplyTarget} object
   * ({@code channel, accountId, peerKind: direct | group | channel, peerId, threadId?}). Strings such as
   * {@code telegram:<chat>} or {@code home:telegram} are parsed where an operator writes them (the
   * {@code send} protocol method), never here. One message per idempotency key; no session, no model call.
   */
  public static final String SEND = "delivery.send";
  /**
   * {@code {runId, target, state: typing | idle, ttlMs}}: a turn that answers {@code target} started
   * ({@code typing}) or ended ({@code idle}). Fire and forget. Forwarded to the account's adapter as
   * {@link ChannelOutlet#ACTIVITY} when its profile says {@code activity}; dropped otherwise. The
   * lane sends it, so a channel shows "typing…" without knowing anything about lanes.
   */
  public static final String ACTIVITY = "delivery.activity";
  /** Published after an obligation was delivered: {@code {obligationId, runId, channel, accountId, target, text, mirrorSessionKey?}}. */
  public static final String DELIVERED = "delivery.delivered";

  private DeliveryAddresses() {
  }
}
