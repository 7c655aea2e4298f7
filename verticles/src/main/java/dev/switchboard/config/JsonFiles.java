package dev.switchboard.config;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads configuration files. Only used at start-up, before any event loop runs. */
public final class JsonFiles {
  private JsonFiles() {
  }

  /**
   * Reads a JSON object from {@code file}; {@code label} names it in problems. A missing file, a
   * file that is not JSON or not an object gives a {@link ConfigException} saying which and where.
   */
  public static JsonObject readObject(Path file, String label) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(label, "file not found (" + file + ")");
    } catch (IOException e) {
      throw new ConfigException(label, "cannot be read: " + e.getMessage());
    }
    if (text.isBlank()) {
      throw new ConfigException(label, "is empty; expected a JSON object");
    }
    try {
      return new JsonObject(text);
    } catch (DecodeException e) {
      throw new ConfigException(label, "is not valid JSON: " + jsonError(e));
    } catch (ClassCastException e) {
      throw new ConfigException(label, "must hold a JSON object at the top level");
    }
  }

  private static String jsonError(DecodeException e) {
    // Jackson's message carries "line: N, column: M"; keep the first sentence and the location.
    String m = String.valueOf(e.getMessage());
    m = m.replace("Failed to decode:", "").trim();
    int src = m.indexOf(" at [Source:");
    String location = "";
    int line = m.indexOf("line: ");
    if (line >= 0) {
      int end = m.indexOf(']', line);
      location = " (" + m.substring(line, end < 0 ? m.length() : end) + ")";
    }
    String head = src > 0 ? m.substring(0, src) : m;
    int nl = head.indexOf('\n');
    if (nl > 0) {
      head = head.substring(0, nl);
    }
    return head.trim() + location;
  }
}
