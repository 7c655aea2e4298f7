package dev.switchboard.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a Markdown reply into chunks of at most {@code limit} characters, in order. Chunks are
 * exact consecutive pieces of the text (their concatenation is the text) and are cut only outside
 * fenced code blocks, preferring a paragraph break, then a line break, then a sentence end, then a
 * space; the separator stays at the end of the earlier chunk. The one exception: a single code block
 * longer than a chunk is cut at line boundaries, each piece closed and reopened with the same
 * fence, so every chunk still renders on its own.
 */
public final class Chunker {
  private static final Pattern FENCE = Pattern.compile("(?m)^[ \\t]*(```|~~~)[ \\t]*([\\w+#.-]*)[ \\t]*$");
  static final int MIN_LIMIT = 32;

  private Chunker() {
  }

  public static List<String> split(String text, int limit) {
    if (limit < MIN_LIMIT) {
      throw new IllegalArgumentException("chunk limit below " + MIN_LIMIT);
    }
    List<String> out = new ArrayList<>();
    List<int[]> fences = fences(text);
    int pos = 0;
    while (text.length() - pos > limit) {
      int cut = cut(text, pos, limit, fences);
      if (cut > pos) {
        out.add(text.substring(pos, cut));
        pos = cut;
        continue;
      }
      // a code block starting here is longer than a chunk: the one case that is cut inside a fence
      int[] block = fenceAt(fences, pos);
      int end = splitCode(text, block, limit, out);
      pos = end;
    }
    if (pos < text.length()) {
      out.add(text.substring(pos));
    }
    return out;
  }

  /** Fenced code blocks as [start, end) ranges covering the fence lines (an unclosed fence runs to the end). */
  static List<int[]> fences(String text) {
    List<int[]> out = new ArrayList<>();
    Matcher m = FENCE.matcher(text);
    int from = 0;
    while (from < text.length() && m.find(from)) {
      int start = m.start();
      String marker = m.group(1);
      int searchFrom = m.end();
      int end = text.length();
      Matcher close = FENCE.matcher(text);
      while (searchFrom < text.length() && close.find(searchFrom)) {
        if (close.group(1).equals(marker) && close.group(2).isEmpty()) {
          end = close.end();
          break;
        }
        searchFrom = close.end();
      }
      if (end < text.length() && text.charAt(end) == '\n') {
        end++;
      }
      out.add(new int[] {start, end});
      from = end;
    }
    return out;
  }

  private static int[] fenceAt(List<int[]> fences, int pos) {
    for (int[] f : fences) {
      if (f[0] <= pos && pos < f[1]) {
        return f;
      }
    }
    throw new IllegalStateException("no fence at " + pos);
  }

  private static boolean insideFence(List<int[]> fences, int i) {
    for (int[] f : fences) {
      if (f[0] < i && i < f[1]) {
        return true;
      }
    }
    return false;
  }

  /**
   * The best cut in (pos, pos + limit] outside code fences, or pos when there is none: the
   * best-ranked place in the last two thirds of the window (the latest on ties), else the latest
   * ranked place before that, else the latest place outside a fence.
   */
  private static int cut(String text, int pos, int limit, List<int[]> fences) {
    int max = pos + limit;
    int floor = pos + limit / 3;
    int best = -1;
    int bestRank = 0;
    for (int i = max; i > floor; i--) {
      if (!insideFence(fences, i)) {
        int r = rank(text, i, fences);
        if (r > bestRank) {
          best = i;
          bestRank = r;
        }
      }
    }
    if (best > 0) {
      return best;
    }
    for (int i = floor; i > pos; i--) {
      if (!insideFence(fences, i) && rank(text, i, fences) > 0) {
        return i;
      }
    }
    for (int i = max; i > pos; i--) {
      if (!insideFence(fences, i)) {
        return i;
      }
    }
    return pos;
  }

  /** How good a cut before index i is: 5 paragraph, 4 fence boundary, 3 line, 2 sentence, 1 space, 0 none. */
  private static int rank(String text, int i, List<int[]> fences) {
    for (int[] f : fences) {
      if (f[0] == i || f[1] == i) {
        return 4;
      }
    }
    if (i >= 2 && text.charAt(i - 1) == '\n' && text.charAt(i - 2) == '\n') {
      return 5;
    }
    if (text.charAt(i - 1) == '\n') {
      return 3;
    }
    if (i >= 2 && text.charAt(i - 1) == ' ' && ".!?".indexOf(text.charAt(i - 2)) >= 0) {
      return 2;
    }
    if (text.charAt(i - 1) == ' ') {
      return 1;
    }
    return 0;
  }

  /** Cuts one oversized code block into self-contained fenced pieces; returns where the block ends. */
  private static int splitCode(String text, int[] block, int limit, List<String> out) {
    String body = text.substring(block[0], block[1]);
    Matcher m = FENCE.matcher(body);
    if (!m.find()) {
      throw new IllegalStateException("fence without marker");
    }
    String open = body.substring(0, m.end());
    String marker = m.group(1);
    String inner = body.substring(Math.min(body.length(), m.end() + 1));
    String trailer = "";
    int closeAt = inner.lastIndexOf(marker);
    if (closeAt >= 0 && inner.substring(closeAt + marker.length()).isBlank()) {
      trailer = inner.substring(closeAt);
      inner = inner.substring(0, closeAt);
    }
    String close = marker + (trailer.endsWith("\n") ? "\n" : "");
    int room = limit - open.length() - 1 - close.length() - 1;
    StringBuilder piece = new StringBuilder();
    for (String line : inner.split("(?<=\n)")) {
      String l = line;
      while (piece.length() + l.length() > room) {
        if (piece.length() == 0) {
          piece.append(l, 0, room);
          l = l.substring(room);
        }
        out.add(open + "\n" + withNewline(piece) + close);
        piece.setLength(0);
      }
      piece.append(l);
    }
    out.add(open + "\n" + withNewline(piece) + close);
    return block[1];
  }

  private static String withNewline(StringBuilder s) {
    return s.length() == 0 || s.charAt(s.length() - 1) == '\n' ? s.toString() : s + "\n";
  }
}
