package dev.switchboard.agent;

import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Which API key a call uses: round-robin over a model's keys, skipping keys that rest after a rate
 * limit (for the provider's {@code Retry-After}, else {@code retry.keyCooldownMs}) or an auth/billing
 * refusal ({@link #REFUSED_COOLDOWN_MS}). A key's state is shared by every agent of the workspace
 * that uses the same key with the same provider and base URL; keys are told apart by a hash of their
 * value, which is never logged. Used from one event-loop context.
 */
final class KeyRing {
  /** How long a key the provider refused (401/403/402) rests: a wrong key stays wrong until it is changed. */
  static final long REFUSED_COOLDOWN_MS = 60 * 60_000L;

  private final Map<String, Long> coolUntil = new HashMap<>();
  private final Map<String, Integer> cursor = new HashMap<>();
  private final Map<Secret, String> ids = new HashMap<>();

  /** The index of the key to use now, or -1 when every key rests. Advances the round-robin cursor. */
  int pick(ModelConfig model, long now) {
    List<Secret> keys = model.apiKeys();
    String label = poolLabel(model);
    int start = cursor.getOrDefault(label, 0);
    for (int i = 0; i < keys.size(); i++) {
      int k = (start + i) % keys.size();
      if (coolUntil.getOrDefault(id(model, keys.get(k)), 0L) <= now) {
        cursor.put(label, (k + 1) % keys.size());
        return k;
      }
    }
    return -1;
  }

  /** Milliseconds until the first of the model's keys may be used again (0 when one may be used now). */
  long nextAvailableIn(ModelConfig model, long now) {
    long soonest = Long.MAX_VALUE;
    for (Secret k : model.apiKeys()) {
      soonest = Math.min(soonest, Math.max(0, coolUntil.getOrDefault(id(model, k), 0L) - now));
    }
    return soonest == Long.MAX_VALUE ? 0 : soonest;
  }

  boolean anyAvailable(ModelConfig model, long now) {
    return nextAvailableIn(model, now) == 0;
  }

  void cooldown(ModelConfig model, int index, long until) {
    String id = id(model, model.apiKeys().get(index));
    coolUntil.merge(id, until, Math::max);
  }

  /** {@code key 2 of 3 (env:OPENAI_KEY_2)}: how logs name a key. */
  static String describe(ModelConfig model, int index) {
    return "key " + (index + 1) + " of " + model.apiKeys().size() + " (" + model.apiKeys().get(index).origin() + ")";
  }

  private static String poolLabel(ModelConfig model) {
    return model.provider() + "|" + model.effectiveBaseUrl() + "|" + model.model();
  }

  private String id(ModelConfig model, Secret key) {
    return model.provider() + "|" + model.effectiveBaseUrl() + "|" + ids.computeIfAbsent(key, KeyRing::hash);
  }

  private static String hash(Secret key) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(d.digest(key.reveal().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
