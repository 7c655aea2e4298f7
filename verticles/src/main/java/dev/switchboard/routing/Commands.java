package dev.switchboard.routing;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Slash commands that bypass the session's queue: {@code /stop}, {@code /new}, {@code /reset},
 * {@code /status}, {@code /sethome} (owners: this chat becomes the account's home chat). A command may be addressed to a bot ({@code /new@mybot}); {@code /new} and
 * {@code /reset} may carry a first message for the fresh session.
 */
public final class Commands {
  private static final Pattern COMMAND = Pattern.compile("^/(stop|new|reset|status|sethome)(?:@\\S+)?(?:\\s+([\\s\\S]*))?$",
      Pattern.CASE_INSENSITIVE);

  /** A parsed command and the text after it (possibly empty). */
  public record Command(String name, String rest) {
  }

  private Commands() {
  }

  /** The command in {@code text}, or null when it is an ordinary message. */
  public static Command parse(String text) {
    if (text == null) {
      return null;
    }
    Matcher m = COMMAND.matcher(text.strip());
    if (!m.matches()) {
      return null;
    }
    return new Command(m.group(1).toLowerCase(Locale.ROOT), m.group(2) == null ? "" : m.group(2).strip());
  }
}
