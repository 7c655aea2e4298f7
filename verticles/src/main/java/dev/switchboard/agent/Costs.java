package dev.switchboard.agent;

import dev.switchboard.workspace.ModelConfig;
import java.util.Set;

/**
 * Estimated cost of tokens, from the model's configured {@code pricing} (USD per million tokens).
 * Models on this machine (echo, Ollama, llama.cpp, vLLM) cost nothing unless priced; a remote model
 * without pricing has an unknown cost (null), never a made-up one.
 */
public final class Costs {
  private static final Set<String> LOCAL = Set.of("echo", "ollama", "llamacpp", "vllm");

  private Costs() {
  }

  /** USD, or null when the model has no price. */
  public static Double estimate(ModelConfig model, Usage usage) {
    ModelConfig.Pricing p = model.pricing();
    if (p == null) {
      return LOCAL.contains(model.provider()) ? 0.0 : null;
    }
    long uncached = Math.max(0, usage.input() - usage.cached() - usage.cacheWrite());
    return (uncached * p.inputPerMTok() + usage.cached() * p.cachedInputPerMTok()
        + usage.cacheWrite() * p.cacheWritePerMTok() + usage.output() * p.outputPerMTok()) / 1_000_000.0;
  }

  /** Sum where either may be unknown: unknown wins (a partial sum would understate the cost). */
  public static Double add(Double a, Double b) {
    return a == null || b == null ? null : a + b;
  }
}
