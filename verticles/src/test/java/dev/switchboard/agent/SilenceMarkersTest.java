package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SilenceMarkersTest {
  @Test
  @DisplayName("a reply that is only a marker becomes empty; marker plus text keeps only the text")
  void strip() {
    assertThat(SilenceMarkers.strip("<NO_REPLY>")).isEmpty();
    assertThat(SilenceMarkers.strip("  <EMPTY_RESPONSE>\n")).isEmpty();
    assertThat(SilenceMarkers.strip("<NO_REPLY> fine, then")).isEqualTo("fine, then");
    assertThat(SilenceMarkers.strip("a <b> c")).isEqualTo("a <b> c");
  }

  @Test
  @DisplayName("while streaming, a tail that could become a marker is held back, so a marker never flashes")
  void streamingPrefix() {
    StringBuilder raw = new StringBuilder();
    for (String chunk : new String[] {"<", "NO_", "REP", "LY>", " ok"}) {
      raw.append(chunk);
      assertThat(SilenceMarkers.visiblePrefix(raw.toString())).doesNotContain("<").doesNotContain("NO_");
    }
    assertThat(SilenceMarkers.visiblePrefix(raw.toString())).isEqualTo("ok");
    assertThat(SilenceMarkers.visiblePrefix("x < y")).isEqualTo("x < y");
    assertThat(SilenceMarkers.visiblePrefix("answer <EMPTY")).isEqualTo("answer ");
  }
}
