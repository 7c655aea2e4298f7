package dev.switchboard.delivery;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The contract between delivery and the channel adapters. An adapter announces each account it
 * serves with a {@link Profile} on {@link DeliveryAddresses#REGISTER} and consumes
 * {@link #address(String, String)}, where delivery sends it {@link Request}s and expects a
 * {@link Receipt}, or a failure whose code says what happened:
 *
 * <ul>
 *   <li>{@link #RATE_LIMITED} 429: not sent; the message is {@code retryAfterMs=<n>} when the platform said when</li>
 *   <li>{@link #TRANSIENT} 503: not sent (connection refused or reset before the request left, 5xx)</li>
 *   <li>{@link #AMBIGUOUS} 504: the request left but no answer came (timeout, lost ack): it may have arrived</li>
 *   <li>{@link #FORMAT_REJECTED} 422: the platform refused the formatting; the same text as plain may pass</li>
 *   <li>{@link #GONE} 404: the message to edit or delete no longer exists</li>
 *   <li>{@link #UNSUPPORTED} 501: the platform cannot do this operation (for example reconcile)</li>
 *   <li>{@link #REJECTED} 400: refused for good (chat not found, bot blocked)</li>
 * </ul>
 */
public final class ChannelOutlet {
  public static final int REJECTED = 400;
  public static final int GONE = 404;
  public static final int FORMAT_REJECTED = 422;
  public static final int RATE_LIMITED = 429;
  public static final int UNSUPPORTED = 501;
  public static final int TRANSIENT = 503;
  public static final int AMBIGUOUS = 504;

  /** Operations: post a new message, replace a message's text, remove a message, ask whether a send arrived. */
  public static final String SEND = "send";
  public static final String EDIT = "edit";
  public static final String DELETE = "delete";
  public static final String RECONCILE = "reconcile";
  /**
   * Show (payload {@code {state: "typing", ttlMs}}) or stop showing ({@code {state: "idle"}}) that a
   * reply is being written in the target chat; only to accounts whose profile says {@code activity}.
   * The adapter keeps the platform's indicator alive until {@code idle} comes or {@code ttlMs} passed.
   * Best effort: the answer is ignored.
   */
  public static final String ACTIVITY = "activity";
  public static final List<String> OPS = List.of(SEND, EDIT, DELETE, RECONCILE, ACTIVITY);

  /** Prefixed to a message that is resent because an earlier send may have arrived after all. */
  public static final String DUPLICATE_MARKER = "(possible duplicate) ";

  private ChannelOutlet() {
  }

  /** {@code channels.<channel>.<accountId>.send} */
  public static String address(String channel, String accountId) {
    return "channels." + channel + "." + accountId + ".send";
  }

  /**
   * What an account can take.
   *
   * @param maxChars       longest message (characters); 0 = unlimited
   * @param edits          messages can be edited (streaming by edit)
   * @param editThrottleMs least time between two edits of one chat's preview
   * @param format         dialect: {@code markdown | html | mrkdwn | plain} ({@link Formatter})
   * @param reconcile      the adapter can tell whether a send arrived ({@link #RECONCILE})
   * @param activity       the adapter shows that a reply is being written ({@link #ACTIVITY})
   */
  public record Profile(String channel, String accountId, int maxChars, boolean edits, long editThrottleMs,
      String format, boolean reconcile, boolean activity) {

    /** A profile without activity indicators. */
    public Profile(String channel, String accountId, int maxChars, boolean edits, long editThrottleMs, String format,
        boolean reconcile) {
      this(channel, accountId, maxChars, edits, editThrottleMs, format, reconcile, false);
    }

    public JsonObject toJson() {
      return new JsonObject().put("channel", channel).put("accountId", accountId).put("maxChars", maxChars)
          .put("edits", edits).put("editThrottleMs", editThrottleMs).put("format", format).put("reconcile", reconcile)
          .put("activity", activity);
    }

    public static Profile fromJson(JsonObject j) {
      return new Profile(j.getString("channel"), j.getString("accountId"), j.getInteger("maxChars", 0),
          j.getBoolean("edits", false), j.getLong("editThrottleMs", 1000L), j.getString("format", "markdown"),
          j.getBoolean("reconcile", false), j.getBoolean("activity", false));
    }

    /**
     * An account no adapter has announced: no edits and no activity, so previews and typing are not
     * shown; obligations of such an account are not sent at all until it is announced.
     */
    public static Profile unknown(String channel, String accountId) {
      return new Profile(channel, accountId, 0, false, 1000, "markdown", false);
    }
  }

  /**
   * One operation on the platform.
   *
   * @param op           {@link #SEND}, {@link #EDIT}, {@link #DELETE} or {@link #RECONCILE}
   * @param obligationId the obligation it serves (null for preview messages)
   * @param chunk        which piece of the reply (0-based) and of how many
   * @param text         the text, already in {@code format}
   * @param messageId    the platform message to edit or delete
   * @param preview      a streaming preview (not the final reply)
   * @param attempt      delivery attempt, from 1
   * @param payload      the obligation's payload ({@code text, sessionKey, runId, stopReason, usage, ...})
   */
  public record Request(String op, String obligationId, String runId, ReplyTarget target, int chunk, int chunks,
      String text, String format, String messageId, boolean preview, int attempt, JsonObject payload) {

    public JsonObject toJson() {
      return new JsonObject().put("op", op).put("obligationId", obligationId).put("runId", runId)
          .put("target", target.toJson()).put("chunk", chunk).put("chunks", chunks).put("text", text)
          .put("format", format).put("messageId", messageId).put("preview", preview).put("attempt", attempt)
          .put("payload", payload);
    }

    public static Request fromJson(JsonObject j) {
      return new Request(j.getString("op", SEND), j.getString("obligationId"), j.getString("runId"),
          ReplyTarget.fromJson(j.getJsonObject("target")), j.getInteger("chunk", 0), j.getInteger("chunks", 1),
          j.getString("text", ""), j.getString("format", "markdown"), j.getString("messageId"),
          j.getBoolean("preview", false), j.getInteger("attempt", 1), j.getJsonObject("payload", new JsonObject()));
    }
  }

  /**
   * What the platform answered: the message's id; for {@link #RECONCILE}, {@code found} says whether
   * the send had arrived (and {@code messageId} is its id).
   */
  public record Receipt(String messageId, boolean found) {
    public static Receipt of(String messageId) {
      return new Receipt(messageId, true);
    }

    public JsonObject toJson() {
      return new JsonObject().put("messageId", messageId).put("found", found);
    }

    public static Receipt fromJson(JsonObject j) {
      return new Receipt(j.getString("messageId"), j.getBoolean("found", true));
    }
  }
}
