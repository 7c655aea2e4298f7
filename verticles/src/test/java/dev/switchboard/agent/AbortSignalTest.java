package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AbortSignalTest {

  @Test
  @DisplayName("abort runs every listener once, in order, even when one of them throws; the caller is not hit")
  void listenersAreIsolated() {
    AbortSignal signal = new AbortSignal();
    List<String> ran = new ArrayList<>();
    signal.onAbort(() -> ran.add("first"));
    signal.onAbort(() -> {
      ran.add("careless");
      throw new IllegalStateException("a listener's bug");
    });
    signal.onAbort(() -> ran.add("last"));

    assertThatCode(() -> signal.abort("user")).doesNotThrowAnyException();
    assertThat(ran).containsExactly("first", "careless", "last");
    assertThat(signal.aborted()).isTrue();
    assertThat(signal.reason()).isEqualTo("user");

    signal.abort("timeout");
    assertThat(ran).as("a second abort runs nothing again").hasSize(3);
    assertThat(signal.reason()).as("the first reason stays").isEqualTo("user");
  }

  @Test
  @DisplayName("a listener added after the abort runs at once")
  void lateListener() {
    AbortSignal signal = new AbortSignal();
    signal.abort("shutdown");
    List<String> ran = new ArrayList<>();
    signal.onAbort(() -> ran.add("late"));
    assertThat(ran).containsExactly("late");
  }
}
