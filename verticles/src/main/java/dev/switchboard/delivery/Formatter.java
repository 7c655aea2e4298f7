package dev.switchboard.delivery;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Converts the Markdown a model writes into a channel's dialect: {@code markdown} (as written:
 * Discord, webchat), {@code html} (Telegram's HTML parse mode, everything escaped), {@code mrkdwn}
 * (Slack) or {@code plain} (formatting removed: the fallback when a platform rejects formatting).
 * Only balanced markers on one line are converted; anything else stays literal text.
 */
public final class Formatter {
  public static final List<String> FORMATS = List.of("markdown", "html", "mrkdwn", "plain");

  private static final Pattern INLINE = Pattern.compile(
      "(`[^`\\n]+`)|(\\*\\*[^*\\n]+\\*\\*)|(__[^_\\n]+__)|(~~[^~\\n]+~~)|(\\*[^*\\s\\n][^*\\n]*\\*)|(\\b_[^_\\n]+_\\b)"
          + "|(\\[[^\\]\\n]+\\]\\((https?://[^\\s)]+)\\))");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*)$");
  private static final Pattern FENCE_OPEN = Pattern.compile("^[ \\t]*(```|~~~)[ \\t]*([\\w+#.-]*)[ \\t]*\\n?");

  private Formatter() {
  }

  public static String format(String markdown, String format) {
    return switch (format) {
      case "markdown" -> markdown;
      case "html", "mrkdwn", "plain" -> convert(markdown, format);
      default -> throw new IllegalArgumentException("unknown format " + format);
    };
  }

  private static String convert(String text, String format) {
    StringBuilder out = new StringBuilder();
    int pos = 0;
    for (int[] f : Chunker.fences(text)) {
      prose(text.substring(pos, f[0]), format, out);
      code(text.substring(f[0], f[1]), format, out);
      pos = f[1];
    }
    prose(text.substring(pos), format, out);
    return out.toString();
  }

  private static void code(String block, String format, StringBuilder out) {
    Matcher m = FENCE_OPEN.matcher(block);
    String lang = "";
    String body = block;
    if (m.lookingAt()) {
      lang = m.group(2);
      body = block.substring(m.end());
      String marker = m.group(1);
      int close = body.lastIndexOf(marker);
      if (close >= 0 && body.substring(close + marker.length()).isBlank()) {
        body = body.substring(0, close);
      }
    }
    boolean trailingNewline = block.endsWith("\n");
    String code = body.endsWith("\n") ? body.substring(0, body.length() - 1) : body;
    switch (format) {
      case "html" -> out.append("<pre><code").append(lang.isEmpty() ? "" : " class=\"language-" + escapeHtml(lang) + "\"")
          .append('>').append(escapeHtml(code)).append("</code></pre>");
      case "mrkdwn" -> out.append("```\n").append(escapeSlack(code)).append("\n```");
      default -> out.append(code);
    }
    if (trailingNewline) {
      out.append('\n');
    }
  }

  private static void prose(String text, String format, StringBuilder out) {
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (i > 0) {
        out.append('\n');
      }
      String line = lines[i];
      Matcher h = HEADING.matcher(line);
      if (h.matches()) {
        String inner = h.group(1);
        switch (format) {
          case "html" -> out.append("<b>").append(inline(inner, format)).append("</b>");
          case "mrkdwn" -> out.append('*').append(inline(inner, format)).append('*');
          default -> out.append(inline(inner, format));
        }
      } else {
        out.append(inline(line, format));
      }
    }
  }

  private static String inline(String line, String format) {
    StringBuilder out = new StringBuilder();
    Matcher m = INLINE.matcher(line);
    int pos = 0;
    while (m.find()) {
      out.append(literal(line.substring(pos, m.start()), format));
      String t = m.group();
      if (m.group(1) != null) {
        String code = t.substring(1, t.length() - 1);
        out.append(switch (format) {
          case "html" -> "<code>" + escapeHtml(code) + "</code>";
          case "mrkdwn" -> "`" + escapeSlack(code) + "`";
          default -> code;
        });
      } else if (m.group(2) != null || m.group(3) != null) {
        out.append(wrap(t.substring(2, t.length() - 2), format, "b"));
      } else if (m.group(4) != null) {
        out.append(wrap(t.substring(2, t.length() - 2), format, "s"));
      } else if (m.group(5) != null || m.group(6) != null) {
        out.append(wrap(t.substring(1, t.length() - 1), format, "i"));
      } else {
        String label = t.substring(1, t.indexOf("]("));
        String url = m.group(8);
        out.append(switch (format) {
          case "html" -> "<a href=\"" + escapeHtml(url) + "\">" + escapeHtml(label) + "</a>";
          case "mrkdwn" -> "<" + url.replace("|", "%7C").replace(">", "%3E") + "|" + escapeSlack(label) + ">";
          default -> label + " (" + url + ")";
        });
      }
      pos = m.end();
    }
    out.append(literal(line.substring(pos), format));
    return out.toString();
  }

  private static String wrap(String inner, String format, String tag) {
    String body = literal(inner, format);
    return switch (format) {
      case "html" -> "<" + tag + ">" + body + "</" + tag + ">";
      case "mrkdwn" -> switch (tag) {
        case "b" -> "*" + body + "*";
        case "i" -> "_" + body + "_";
        default -> "~" + body + "~";
      };
      default -> body;
    };
  }

  private static String literal(String s, String format) {
    return switch (format) {
      case "html" -> escapeHtml(s);
      case "mrkdwn" -> escapeSlack(s);
      default -> s;
    };
  }

  static String escapeHtml(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  static String escapeSlack(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
