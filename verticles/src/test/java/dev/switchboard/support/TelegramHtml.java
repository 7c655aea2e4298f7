package dev.switchboard.support;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Telegram's HTML parse mode as the Bot API applies it, for the stand-in: the tags it supports, the
 * entities it decodes, strict nesting, and its error strings ({@code Bad Request: can't parse
 * entities: ...}). The result is what the chat shows: the visible text and its entities.
 */
public final class TelegramHtml {
  private static final Set<String> TAGS = Set.of("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
      "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji");
  private static final Map<String, String> ENTITY_TYPE = Map.ofEntries(Map.entry("b", "bold"), Map.entry("strong", "bold"),
      Map.entry("i", "italic"), Map.entry("em", "italic"), Map.entry("u", "underline"), Map.entry("ins", "underline"),
      Map.entry("s", "strikethrough"), Map.entry("strike", "strikethrough"), Map.entry("del", "strikethrough"),
      Map.entry("span", "spoiler"), Map.entry("tg-spoiler", "spoiler"), Map.entry("a", "text_link"),
      Map.entry("code", "code"), Map.entry("pre", "pre"), Map.entry("blockquote", "blockquote"),
      Map.entry("tg-emoji", "custom_emoji"));
  private static final Pattern ATTR = Pattern.compile("\\s*([a-zA-Z-]+)\\s*=\\s*(\"([^\"]*)\"|'([^']*)'|([^\\s\"'>]+))");

  /** A formatting entity: type, offset and length in UTF-16 code units (as Telegram counts). */
  public record Entity(String type, int offset, int length, String url) {
  }

  /** The parsed message. */
  public record Parsed(String text, List<Entity> entities) {
  }

  /** The parse failed with Telegram's description. */
  public static final class ParseError extends RuntimeException {
    public ParseError(String description) {
      super(description, null, false, false);
    }
  }

  private TelegramHtml() {
  }

  private record Open(String tag, int at, String url) {
  }

  public static Parsed parse(String html) {
    StringBuilder out = new StringBuilder();
    List<Entity> entities = new ArrayList<>();
    Deque<Open> stack = new ArrayDeque<>();
    int i = 0;
    while (i < html.length()) {
      char c = html.charAt(i);
      if (c == '&') {
        int semi = html.indexOf(';', i);
        String decoded = semi < 0 || semi - i > 10 ? null : entity(html.substring(i + 1, semi));
        if (decoded == null) {
          out.append('&'); // an unknown entity stays as written, like Telegram does
          i++;
        } else {
          out.append(decoded);
          i = semi + 1;
        }
        continue;
      }
      if (c != '<') {
        out.append(c);
        i++;
        continue;
      }
      int end = html.indexOf('>', i);
      int offset = bytes(html, i);
      if (end < 0) {
        throw new ParseError("Bad Request: can't parse entities: Unclosed start tag at byte offset " + offset);
      }
      String inner = html.substring(i + 1, end);
      if (inner.startsWith("/")) {
        String name = inner.substring(1).strip().toLowerCase(Locale.ROOT);
        Open open = stack.peek();
        if (open == null) {
          throw new ParseError("Bad Request: can't parse entities: Unexpected end tag at byte offset " + offset);
        }
        if (!open.tag().equals(name)) {
          throw new ParseError("Bad Request: can't parse entities: Unmatched end tag at byte offset " + offset
              + ", expected \"</" + open.tag() + ">\", found \"</" + name + ">\"");
        }
        stack.pop();
        int length = out.length() - open.at();
        if (length > 0) {
          entities.add(new Entity(ENTITY_TYPE.get(open.tag()), open.at(), length, open.url()));
        }
      } else {
        String name = inner.split("[\\s/]", 2)[0].toLowerCase(Locale.ROOT);
        if (name.isEmpty() || !TAGS.contains(name)) {
          throw new ParseError("Bad Request: can't parse entities: Unsupported start tag \"" + name
              + "\" at byte offset " + offset);
        }
        String attrs = inner.substring(name.length());
        String url = null;
        Matcher m = ATTR.matcher(attrs);
        while (m.find()) {
          String value = m.group(3) != null ? m.group(3) : m.group(4) != null ? m.group(4) : m.group(5);
          value = decodeAll(value);
          if (m.group(1).equalsIgnoreCase("href")) {
            url = value;
          }
          if (name.equals("span") && m.group(1).equalsIgnoreCase("class") && !value.equals("tg-spoiler")) {
            throw new ParseError("Bad Request: can't parse entities: Tag \"span\" must have class \"tg-spoiler\" at byte"
                + " offset " + offset);
          }
        }
        if (name.equals("a") && url == null) {
          url = "";
        }
        if ((name.equals("pre") || name.equals("code")) && !stack.isEmpty() && stack.peek().tag().equals("code")) {
          throw new ParseError("Bad Request: can't parse entities: Entities can't be nested in code at byte offset "
              + offset);
        }
        stack.push(new Open(name, out.length(), url));
      }
      i = end + 1;
    }
    if (!stack.isEmpty()) {
      throw new ParseError("Bad Request: can't parse entities: Can't find end tag corresponding to start tag \""
          + stack.peek().tag() + "\"");
    }
    entities.sort((a, b) -> a.offset() != b.offset() ? Integer.compare(a.offset(), b.offset())
        : Integer.compare(b.length(), a.length()));
    return new Parsed(out.toString(), List.copyOf(entities));
  }

  private static String decodeAll(String s) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < s.length()) {
      int semi = s.indexOf(';', i);
      if (s.charAt(i) == '&' && semi > 0) {
        String d = entity(s.substring(i + 1, semi));
        if (d != null) {
          out.append(d);
          i = semi + 1;
          continue;
        }
      }
      out.append(s.charAt(i++));
    }
    return out.toString();
  }

  private static String entity(String name) {
    switch (name) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return "\"";
      default:
        break;
    }
    try {
      if (name.startsWith("#x") || name.startsWith("#X")) {
        return new String(Character.toChars(Integer.parseInt(name.substring(2), 16)));
      }
      if (name.startsWith("#")) {
        return new String(Character.toChars(Integer.parseInt(name.substring(1))));
      }
    } catch (IllegalArgumentException e) {
      return null;
    }
    return null;
  }

  private static int bytes(String s, int chars) {
    return s.substring(0, chars).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
  }
}
