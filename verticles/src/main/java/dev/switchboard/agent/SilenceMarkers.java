package dev.switchboard.agent;

import java.util.List;

/**
 * A model may answer {@code <NO_REPLY>} or {@code <EMPTY_RESPONSE>} to stay silent. Markers are
 * stripped from what users see; an empty remainder sends nothing. While streaming, a tail that could
 * still become a marker is held back, so a marker never flashes in a preview.
 */
public final class SilenceMarkers {
  public static final List<String> MARKERS = List.of("<NO_REPLY>", "<EMPTY_RESPONSE>");

  private SilenceMarkers() {
  }

  /** The text without markers, trimmed when markers were removed. */
  public static String strip(String text) {
    if (text == null) {
      return "";
    }
    String out = text;
    boolean found = false;
    for (String m : MARKERS) {
      if (out.contains(m)) {
        out = out.replace(m, "");
        found = true;
      }
    }
    return found ? out.strip() : out;
  }

  /**
   * What may be shown of a reply that is still streaming: markers removed, and any tail that is the
   * beginning of a marker withheld until the next chunk decides.
   */
  public static String visiblePrefix(String streaming) {
    String text = streaming;
    for (int cut = Math.max(0, text.length() - longest()); cut < text.length(); cut++) {
      if (text.charAt(cut) == '<' && isMarkerPrefix(text.substring(cut))) {
        text = text.substring(0, cut);
        break;
      }
    }
    String stripped = text;
    for (String m : MARKERS) {
      stripped = stripped.replace(m, "");
    }
    // leading whitespace left by a removed marker would only flash and vanish in the final text
    return stripped.length() == text.length() ? stripped : stripped.stripLeading();
  }

  private static boolean isMarkerPrefix(String tail) {
    for (String m : MARKERS) {
      if (m.length() > tail.length() && m.startsWith(tail)) {
        return true;
      }
    }
    return false;
  }

  private static int longest() {
    int n = 0;
    for (String m : MARKERS) {
      n = Math.max(n, m.length());
    }
    return n;
  }
}
