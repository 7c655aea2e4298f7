package dev.switchboard.agent;

/**
 * Token estimates where a provider reports none (inspector, context-window checks, servers that
 * send no usage). Four characters per token is the usual rule of thumb for English text and JSON
 * with BPE tokenizers; it is an estimate, labelled as one wherever it is shown.
 */
public final class Tokens {
  private Tokens() {
  }

  public static int estimate(int chars) {
    return (chars + 3) / 4;
  }

  public static int estimate(String text) {
    return text == null ? 0 : estimate(text.length());
  }
}
