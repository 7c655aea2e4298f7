package dev.switchboard.agent.providers;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * An incremental parser for {@code text/event-stream} (the WHATWG server-sent events format): feed it
 * the body in whatever pieces the network delivers, and it calls the sink once per complete event.
 * Lines end with LF, CRLF or CR (also when a CRLF is split across two pieces); {@code data} lines of
 * one event are joined with LF; comment lines ({@code :...}) and unknown fields are ignored. Lines are
 * split on bytes, which is safe for UTF-8: a newline byte never occurs inside a multi-byte character.
 */
final class SseParser {
  /** One event: its type ({@code message} when the stream gave none) and its data. */
  record Event(String type, String data) {
  }

  @FunctionalInterface
  interface Sink {
    void accept(Event event);
  }

  /** The stream is not an event stream we can read (an event or line beyond the size limit). */
  static final class TooLarge extends RuntimeException {
    TooLarge(String message) {
      super(message, null, false, false);
    }
  }

  private final Sink sink;
  private final int maxEventChars;
  private Buffer line = Buffer.buffer();
  private boolean lastWasCr;
  private String eventType;
  private StringBuilder data;

  SseParser(Sink sink, int maxEventChars) {
    this.sink = sink;
    this.maxEventChars = maxEventChars;
  }

  void feed(Buffer chunk) {
    int start = 0;
    int n = chunk.length();
    for (int i = 0; i < n; i++) {
      byte b = chunk.getByte(i);
      if (b == '\n' && lastWasCr) {
        // the LF of a CRLF whose CR already ended the line (possibly in the previous piece)
        lastWasCr = false;
        start = i + 1;
        continue;
      }
      lastWasCr = false;
      if (b == '\n' || b == '\r') {
        lastWasCr = b == '\r';
        String text;
        if (line.length() == 0) {
          // the whole line is in this piece (the usual case): no copy
          text = chunk.getString(start, i, "UTF-8");
        } else {
          line.appendBuffer(chunk, start, i - start);
          text = line.toString(StandardCharsets.UTF_8);
          line = Buffer.buffer();
        }
        onLine(text);
        start = i + 1;
      }
    }
    if (start < n) {
      line.appendBuffer(chunk, start, n - start);
      if (line.length() > maxEventChars) {
        throw new TooLarge("an event-stream line is longer than " + maxEventChars + " bytes");
      }
    }
  }

  /**
   * The body ended. A line without its line break is incomplete (the stream was cut) and is dropped;
   * an event whose lines are complete but which lacks the final blank line is dispatched (lenient:
   * some servers omit it).
   */
  void end() {
    line = Buffer.buffer();
    dispatch();
  }

  private void onLine(String text) {
    if (text.isEmpty()) {
      dispatch();
      return;
    }
    if (text.charAt(0) == ':') {
      return; // comment (keep-alive)
    }
    int colon = text.indexOf(':');
    String field = colon < 0 ? text : text.substring(0, colon);
    String value = colon < 0 ? "" : text.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "event" -> eventType = value;
      case "data" -> {
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
        if (data.length() > maxEventChars) {
          throw new TooLarge("an event is longer than " + maxEventChars + " characters");
        }
      }
      default -> {
        // id, retry and unknown fields do not matter to a one-shot model stream
      }
    }
  }

  private void dispatch() {
    if (data != null) {
      Event e = new Event(eventType == null || eventType.isEmpty() ? "message" : eventType, data.toString());
      data = null;
      eventType = null;
      sink.accept(e);
    } else {
      eventType = null;
    }
  }
}
