package dev.switchboard.agent;

import dev.switchboard.config.Secret;
import java.util.Collection;
import java.util.regex.Pattern;

/**
 * Removes secrets from text that came back from a provider before it reaches a log line, an error
 * message or an event: provider error messages sometimes quote the key they were sent (often
 * partly masked). Configured key values are replaced wherever they appear, and so is anything that
 * looks like an API key.
 */
public final class Redactor {
  static final String MASK = "[redacted]";
  /** OpenAI ({@code sk-...}, {@code sk-proj-...}), Anthropic ({@code sk-ant-...}) and bearer-looking tokens. */
  private static final Pattern KEY_LIKE = Pattern.compile("(?i)\\b(sk-[a-z0-9_*\\-]{6,}|bearer\\s+[a-z0-9._\\-]{8,})");

  private Redactor() {
  }

  public static String scrub(String text, Collection<Secret> secrets) {
    if (text == null || text.isEmpty()) {
      return text;
    }
    String out = text;
    for (Secret s : secrets) {
      if (s != null && s.reveal().length() >= 4) {
        out = out.replace(s.reveal(), MASK);
        // providers echo masked keys (first and last characters); a long unmasked prefix goes too
        if (s.reveal().length() >= 16) {
          out = out.replace(s.reveal().substring(0, 12), MASK);
        }
      }
    }
    return KEY_LIKE.matcher(out).replaceAll(MASK);
  }
}
