package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
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

  @Test
  @DisplayName("a removed listener does not run on abort and no longer counts; the others still run")
  void removedListenersAreGone() {
    AbortSignal signal = new AbortSignal();
    List<String> ran = new ArrayList<>();
    Runnable shared = () -> ran.add("shared");
    AbortSignal.Registration first = signal.onAbort(shared);
    signal.onAbort(shared); // the same Runnable twice: two listeners, removed one by one
    AbortSignal.Registration other = signal.onAbort(() -> ran.add("other"));
    assertThat(signal.listenerCount()).isEqualTo(3);

    first.remove();
    other.remove();
    other.remove(); // harmless
    assertThat(signal.listenerCount()).isEqualTo(1);

    signal.abort("user");
    assertThat(ran).containsExactly("shared");
    assertThat(signal.listenerCount()).isZero();
    assertThatCode(first::remove).as("removing after the abort").doesNotThrowAnyException();
  }

  @Test
  @DisplayName("many finished calls on one signal leave no listener behind")
  void finishedCallsLeaveNothing() {
    AbortSignal signal = new AbortSignal();
    for (int i = 0; i < 1_000; i++) {
      signal.onAbort(() -> { }).remove();
    }
    assertThat(signal.listenerCount()).isZero();
  }
}
