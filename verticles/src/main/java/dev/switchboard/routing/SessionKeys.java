package dev.switchboard.routing;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Builds every session key, in one place. Keys are lower-case and name the bucket a conversation
 * lives in; {@code /new} and {@code /reset} keep the key and roll the session id behind it.
 *
 * <pre>
 * agent:&lt;a&gt;:&lt;mainKey&gt;                            DMs with dmScope main (and operator default)
 * agent:&lt;a&gt;:direct:&lt;peer&gt;                        dmScope per-peer
 * agent:&lt;a&gt;:&lt;channel&gt;:direct:&lt;peer&gt;              dmScope per-channel-peer (the default)
 * agent:&lt;a&gt;:&lt;channel&gt;:&lt;account&gt;:direct:&lt;peer&gt;    dmScope per-account-channel-peer
 * agent:&lt;a&gt;:&lt;channel&gt;:group:&lt;id&gt;                groups
 * agent:&lt;a&gt;:&lt;channel&gt;:channel:&lt;id&gt;              rooms
 * ...:thread:&lt;id&gt; / ...:topic:&lt;id&gt;                 threads, Telegram forum topics
 * ...:member:&lt;person&gt;                                group members' own sessions (groupScope per-member)
 * </pre>
 */
public final class SessionKeys {
  public static final int MAX_LENGTH = 512;
  private static final Pattern FORBIDDEN = Pattern.compile("[\\s\\p{Cntrl}]");

  private SessionKeys() {
  }

  public static String main(String agentId, String mainKey) {
    return key("agent", agentId, mainKey);
  }

  /** A direct-message key for {@code dmScope}. */
  public static String direct(String agentId, String dmScope, String mainKey, String channel, String accountId,
      String peerId) {
    return switch (dmScope) {
      case "main" -> main(agentId, mainKey);
      case "per-peer" -> key("agent", agentId, "direct", peerId);
      case "per-account-channel-peer" -> key("agent", agentId, channel, accountId, "direct", peerId);
      default -> key("agent", agentId, channel, "direct", peerId);
    };
  }

  /** A group ({@code kind = group}) or room ({@code kind = channel}) key. */
  public static String group(String agentId, String channel, String kind, String groupId) {
    return key("agent", agentId, channel, "channel".equals(kind) ? "channel" : "group", groupId);
  }

  public static String thread(String key, String threadId) {
    return threadId == null || threadId.isEmpty() ? key : key + ":" + part("thread") + ":" + part(threadId);
  }

  /**
   * The session key of a chat as a whole (a delivery target rather than a sender): its DM key under
   * the workspace's dmScope, or its group/room key, plus thread.
   */
  public static String forChat(dev.switchboard.workspace.WorkspaceConfig ws, String agentId, String channel,
      String accountId, String peerKind, String chatId, String threadId) {
    String key = "direct".equals(peerKind)
        ? direct(agentId, ws.session().dmScope(), ws.session().mainKey(), channel, accountId, chatId)
        : group(agentId, channel, peerKind, chatId);
    return thread(key, threadId);
  }

  /** A group member's own session within a group ({@code session.groupScope: per-member}). */
  public static String member(String key, String person) {
    return person == null || person.isEmpty() ? key : key + ":" + part("member") + ":" + part(person);
  }

  public static String topic(String key, String topicId) {
    return topicId == null || topicId.isEmpty() ? key : key + ":" + part("topic") + ":" + part(topicId);
  }

  /**
   * The canonical form of a key a client sent: empty or {@code main} means the agent's main session,
   * a key without the {@code agent:} prefix is qualified with {@code agentId}. Throws
   * {@link IllegalArgumentException} for keys that are too long or contain spaces or control characters.
   */
  public static String canonical(String raw, String agentId, String mainKey) {
    String k = raw == null ? "" : raw.trim();
    if (k.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("session key longer than " + MAX_LENGTH + " characters");
    }
    if (FORBIDDEN.matcher(k).find()) {
      throw new IllegalArgumentException("session key must not contain spaces or control characters");
    }
    k = k.toLowerCase(Locale.ROOT);
    if (k.isEmpty() || k.equals("main")) {
      return main(agentId, mainKey);
    }
    if (k.startsWith("agent:")) {
      String[] parts = k.split(":", 3);
      if (parts.length < 3 || parts[1].isEmpty() || parts[2].isEmpty()) {
        throw new IllegalArgumentException("session key \"" + raw + "\" must look like agent:<agentId>:<name>");
      }
      return k;
    }
    return "agent:" + part(agentId) + ":" + k;
  }

  /** The agent a canonical key belongs to. */
  public static String agentOf(String canonicalKey) {
    String[] parts = canonicalKey.split(":", 3);
    return parts.length >= 3 && parts[0].equals("agent") ? parts[1] : null;
  }

  /** {@code direct}, {@code group} or {@code channel}, from the key's shape. */
  public static String kindOf(String canonicalKey) {
    if (canonicalKey.contains(":group:")) {
      return "group";
    }
    if (canonicalKey.contains(":channel:")) {
      return "channel";
    }
    return "direct";
  }

  /** A session's type from its key: {@code group} for groups and rooms, else {@code direct}. */
  public static String typeOf(String canonicalKey) {
    return kindOf(canonicalKey).equals("direct") ? "direct" : "group";
  }

  private static String key(String... parts) {
    StringBuilder sb = new StringBuilder();
    for (String p : parts) {
      if (sb.length() > 0) {
        sb.append(':');
      }
      sb.append(part(p));
    }
    if (sb.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("session key longer than " + MAX_LENGTH + " characters");
    }
    return sb.toString();
  }

  private static String part(String p) {
    if (p == null || p.isEmpty()) {
      throw new IllegalArgumentException("empty session key part");
    }
    return FORBIDDEN.matcher(p.toLowerCase(Locale.ROOT)).replaceAll("_");
  }
}
