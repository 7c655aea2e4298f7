package dev.switchboard.agent.providers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SseParserTest {
  static final String STREAM = ": keep-alive comment\r\n"
      + "event: message_start\r\n"
      + "data: {\"a\":1}\r\n"
      + "\r\n"
      + "data: first line\n"
      + "data:second line, no space\n"
      + "id: 7\n"
      + "retry: 100\n"
      + "\n"
      + "event: ping\rdata: héllo wörld ✓\r\r"
      + "unknown-field: x\n"
      + "data\n"
      + "\n";

  static List<SseParser.Event> parse(List<Buffer> pieces) {
    List<SseParser.Event> out = new ArrayList<>();
    SseParser p = new SseParser(out::add, 1 << 20);
    pieces.forEach(p::feed);
    p.end();
    return out;
  }

  static final List<SseParser.Event> EXPECTED = List.of(
      new SseParser.Event("message_start", "{\"a\":1}"),
      new SseParser.Event("message", "first line\nsecond line, no space"),
      new SseParser.Event("ping", "héllo wörld ✓"),
      new SseParser.Event("message", ""));

  @Test
  @DisplayName("LF, CRLF and CR line ends, comments, multi-line data and an empty data field")
  void wholeStream() {
    assertThat(parse(List.of(Buffer.buffer(STREAM)))).containsExactlyElementsOf(EXPECTED);
  }

  @Test
  @DisplayName("the same events whatever the network's split: every split point, CRLF and multi-byte characters included")
  void everySplitPoint() {
    byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
    for (int cut = 1; cut < bytes.length; cut++) {
      List<Buffer> pieces = List.of(Buffer.buffer().appendBytes(bytes, 0, cut),
          Buffer.buffer().appendBytes(bytes, cut, bytes.length - cut));
      assertThat(parse(pieces)).as("split at byte %d", cut).containsExactlyElementsOf(EXPECTED);
    }
    List<Buffer> single = new ArrayList<>();
    for (byte b : bytes) {
      single.add(Buffer.buffer(new byte[] {b}));
    }
    assertThat(parse(single)).containsExactlyElementsOf(EXPECTED);
  }

  @Test
  @DisplayName("a stream cut in the middle of a line drops that line; complete lines without the blank line still count")
  void endOfStream() {
    assertThat(parse(List.of(Buffer.buffer("data: done\n")))).containsExactly(new SseParser.Event("message", "done"));
    assertThat(parse(List.of(Buffer.buffer("data: {\"cho")))).isEmpty();
  }

  @Test
  @DisplayName("an event larger than the limit is refused instead of buffered without bound")
  void sizeLimit() {
    SseParser p = new SseParser(e -> { }, 100);
    assertThatThrownBy(() -> p.feed(Buffer.buffer("data: " + "x".repeat(200) + "\n")))
        .isInstanceOf(SseParser.TooLarge.class);
    SseParser q = new SseParser(e -> { }, 100);
    assertThatThrownBy(() -> q.feed(Buffer.buffer("data: " + "x".repeat(200))))
        .isInstanceOf(SseParser.TooLarge.class);
  }
}
