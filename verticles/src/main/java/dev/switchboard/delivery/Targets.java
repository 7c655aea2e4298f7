package dev.switchboard.delivery;

import java.util.Set;

/**
 * Explicit delivery targets as people write them: {@code <channel>:<chat>[:<thread>]}, or with the
 * account {@code <channel>:<account>:<chat>[:<thread>]} (the second part is an account when the
 * workspace configures an account of that name on the channel), and home chats
 * {@code home:<channel>[:<account>]}. Parsed once, where an operator writes it (the {@code send}
 * method), against the configured accounts, so the answer never depends on which adapters have
 * started; from there on a target travels as a {@link ReplyTarget}.
 */
public final class Targets {
  private Targets() {
  }

  /** A parsed target; {@code home} targets carry only channel and (maybe) account. */
  public record Parsed(boolean home, String channel, String accountId, String chat, String thread) {
  }

  public static Parsed parse(String to, Set<String> accountsOfChannel) {
    if (to == null || to.isBlank()) {
      throw new IllegalArgumentException("a target is required");
    }
    String[] p = to.strip().split(":", -1);
    for (String part : p) {
      if (part.isEmpty()) {
        throw new IllegalArgumentException("target \"" + to + "\" has an empty part");
      }
    }
    if (p[0].equals("home")) {
      if (p.length < 2 || p.length > 3) {
        throw new IllegalArgumentException("a home target is home:<channel> or home:<channel>:<account>");
      }
      return new Parsed(true, p[1], p.length == 3 ? p[2] : null, null, null);
    }
    if (p.length < 2 || p.length > 4) {
      throw new IllegalArgumentException("target \"" + to + "\" must be <channel>:<chat>[:<thread>] or"
          + " <channel>:<account>:<chat>[:<thread>]");
    }
    boolean withAccount = p.length == 4 || (p.length == 3 && accountsOfChannel.contains(p[1]));
    if (withAccount) {
      return new Parsed(false, p[0], p[1], p[2], p.length == 4 ? p[3] : null);
    }
    return new Parsed(false, p[0], "default", p[1], p.length == 3 ? p[2] : null);
  }
}
