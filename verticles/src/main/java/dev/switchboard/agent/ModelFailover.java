package dev.switchboard.agent;

import dev.switchboard.agent.providers.ModelProviders;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model call made resilient. Tries the agent's model, then each fallback in order; for each:
 * <ul>
 *   <li>rate limit: the key rests, also when it is the model's only one, so later calls and turns
 *       leave it alone too (the provider's {@code Retry-After}; without one {@code keyCooldownMs}
 *       when there are other keys, else the backoff). The call moves at once to another key of the
 *       same model; with none left it waits for the first key to come back when that is at most
 *       {@code maxRetryAfterMs} (a retry), else moves on;</li>
 *   <li>auth or billing refusal: the key rests for an hour; another key is tried, else the next model;</li>
 *   <li>overload, 5xx, timeouts, broken or malformed streams: retried after backoff (doubling, with
 *       jitter, honouring {@code Retry-After}) up to {@code maxRetries}, then the next model;</li>
 *   <li>a rejected request (400/404): the next model;</li>
 *   <li>context overflow and refusals are not retried here: the loop decides (compaction, or the end).</li>
 * </ul>
 * Every failed attempt is logged with the key's origin, never its value; the tokens it used before it
 * failed are reported to the caller ({@link Attempts#spent}), so the turn accounts for them.
 */
final class ModelFailover {
  private static final Logger LOG = LoggerFactory.getLogger(ModelFailover.class);
  static final long MIN_KEY_REST_MS = 1_000;

  /** Told about every attempt: before it starts, and what a failed one used. */
  interface Attempts {
    /** Before an attempt, so a partly streamed answer from a failed attempt can be taken back. */
    void starting(ModelConfig model, int attempt);

    /** A failed attempt of {@code model} used these tokens (it streamed before it failed, or was aborted). */
    default void spent(ModelConfig model, Usage usage) {
    }
  }

  private final Vertx vertx;
  private final ModelProviders providers;
  private final KeyRing keys = new KeyRing();
  /** Milliseconds on a monotonic clock: key rests must agree with Vert.x timers, which never fire early. */
  private final LongSupplier clock;

  ModelFailover(Vertx vertx, ModelProviders providers) {
    this(vertx, providers, monotonicMillis());
  }

  ModelFailover(Vertx vertx, ModelProviders providers, LongSupplier clock) {
    this.vertx = vertx;
    this.providers = providers;
    this.clock = clock;
  }

  /** Milliseconds since this was made, never negative (nanoTime's origin is arbitrary; KeyRing counts from 0). */
  private static LongSupplier monotonicMillis() {
    long origin = System.nanoTime();
    return () -> (System.nanoTime() - origin) / 1_000_000;
  }

  Future<ModelReply> call(ModelConfig primary, ModelCall call, Consumer<String> onText, Attempts attempts,
      AbortSignal signal) {
    return new Run(primary.chain(), call, onText, attempts, signal).candidate(0, null);
  }

  /** One call's walk through the chain. */
  private final class Run {
    final List<ModelConfig> chain;
    final ModelCall call;
    final Consumer<String> onText;
    final Attempts attempts;
    final AbortSignal signal;
    final JsonArray log = new JsonArray();
    int attemptNo;

    Run(List<ModelConfig> chain, ModelCall call, Consumer<String> onText, Attempts attempts, AbortSignal signal) {
      this.chain = chain;
      this.call = call;
      this.onText = onText;
      this.attempts = attempts;
      this.signal = signal;
    }

    Future<ModelReply> candidate(int i, ModelFailure last) {
      if (i >= chain.size()) {
        return Future.failedFuture(withAttempts(last));
      }
      if (i > 0) {
        LOG.info("falling back to {} after {} failed: {}", chain.get(i).label(), chain.get(i - 1).label(),
            last == null ? "" : last.kind().id());
      }
      return attempt(i, 0);
    }

    Future<ModelReply> attempt(int i, int retries) {
      if (signal.aborted()) {
        return Future.failedFuture(new AbortSignal.Aborted(signal.reason()));
      }
      ModelConfig m = chain.get(i);
      int keyIndex = -1;
      Secret key = null;
      if (!m.apiKeys().isEmpty()) {
        long now = clock.getAsLong();
        keyIndex = keys.pick(m, now);
        if (keyIndex < 0) {
          long wait = keys.nextAvailableIn(m, now);
          ModelFailure resting = ModelFailure.of(FailureKind.RATE_LIMIT, "every key of " + m.label()
              + " is resting after rate limits or refusals", m.provider(), m.model());
          if (retries < m.retry().maxRetries() && wait <= m.retry().maxRetryAfterMs()) {
            return delay(wait).compose(v -> attempt(i, retries + 1));
          }
          record(m, resting, -1);
          return candidate(i + 1, resting);
        }
        key = m.apiKeys().get(keyIndex);
      }
      int usedKey = keyIndex;
      attempts.starting(m, ++attemptNo);
      Future<ModelReply> answer;
      try {
        answer = providers.forModel(m).complete(m, key, call, onText, signal);
      } catch (RuntimeException e) {
        answer = Future.failedFuture(e);
      }
      return answer.recover(err -> afterFailure(i, retries, usedKey, err));
    }

    private Future<ModelReply> afterFailure(int i, int retries, int keyIndex, Throwable err) {
      Usage spent = err instanceof ModelFailure mf ? mf.usage()
          : err instanceof AbortSignal.Aborted a ? a.usage() : Usage.NONE;
      if (!spent.isEmpty()) {
        attempts.spent(chain.get(i), spent);
      }
      if (err instanceof AbortSignal.Aborted || signal.aborted()) {
        return Future.failedFuture(err instanceof AbortSignal.Aborted ? err : new AbortSignal.Aborted(signal.reason()));
      }
      ModelConfig m = chain.get(i);
      ModelFailure f = err instanceof ModelFailure mf ? mf
          : ModelFailure.of(FailureKind.UNKNOWN, m.label() + " failed: " + err, m.provider(), m.model());
      record(m, f, keyIndex);
      long now = clock.getAsLong();
      String keyName = keyIndex < 0 ? "" : " with " + KeyRing.describe(m, keyIndex);
      switch (f.kind()) {
        case CONTEXT_OVERFLOW, REFUSAL -> {
          return Future.failedFuture(withAttempts(f));
        }
        case RATE_LIMIT -> {
          if (keyIndex < 0) {
            // no key to rest (a local server): wait as asked, or back off
            return retryOrMoveOn(i, retries, f, f.retryAfterMs() >= 0 ? f.retryAfterMs() : backoff(m, retries),
                keyName);
          }
          long rest = keyRest(m, f, retries);
          keys.cooldown(m, keyIndex, now + rest);
          if (keys.anyAvailable(m, now)) {
            LOG.warn("{} rate-limited{}; the key rests {} ms, trying the next key", m.label(), keyName, rest);
            return attempt(i, retries);
          }
          return retryOrMoveOn(i, retries, f, keys.nextAvailableIn(m, now), keyName);
        }
        case AUTH, BILLING -> {
          if (keyIndex >= 0) {
            keys.cooldown(m, keyIndex, now + KeyRing.REFUSED_COOLDOWN_MS);
            LOG.warn("{} refused{} ({}); the key rests {} min", m.label(), keyName, f.kind().id(),
                KeyRing.REFUSED_COOLDOWN_MS / 60_000);
            if (keys.anyAvailable(m, now)) {
              return attempt(i, retries);
            }
          }
          return candidate(i + 1, f);
        }
        case OVERLOADED, SERVER, NETWORK, TIMEOUT, MALFORMED -> {
          long wait = f.retryAfterMs() >= 0 ? f.retryAfterMs() : backoff(m, retries);
          return retryOrMoveOn(i, retries, f, wait, keyName);
        }
        default -> {
          LOG.warn("{} failed{}: {}", m.label(), keyName, f.getMessage());
          return candidate(i + 1, f);
        }
      }
    }

    private Future<ModelReply> retryOrMoveOn(int i, int retries, ModelFailure f, long wait, String keyName) {
      ModelConfig m = chain.get(i);
      if (retries < m.retry().maxRetries() && wait <= m.retry().maxRetryAfterMs()) {
        LOG.warn("{} failed{} ({}): {}; retry {} of {} in {} ms", m.label(), keyName, f.kind().id(), f.getMessage(),
            retries + 1, m.retry().maxRetries(), wait);
        return delay(wait).compose(v -> attempt(i, retries + 1));
      }
      LOG.warn("{} failed{} ({}): {}; giving up on this model", m.label(), keyName, f.kind().id(), f.getMessage());
      return candidate(i + 1, f);
    }

    /**
     * How long a rate-limited key rests. The provider's {@code Retry-After} when it gave one. Without,
     * a key with siblings rests {@code keyCooldownMs} (the call goes on with a sibling), while a
     * model's only key rests for the backoff its retry waits anyway. With siblings at least
     * {@link #MIN_KEY_REST_MS}, so rotation never comes straight back to a key just told to slow down.
     */
    private long keyRest(ModelConfig m, ModelFailure f, int retries) {
      boolean siblings = m.apiKeys().size() > 1;
      long rest = f.retryAfterMs() >= 0 ? f.retryAfterMs() : siblings ? m.retry().keyCooldownMs() : backoff(m, retries);
      return siblings ? Math.max(MIN_KEY_REST_MS, rest) : rest;
    }

    private void record(ModelConfig m, ModelFailure f, int keyIndex) {
      JsonObject a = new JsonObject().put("model", m.label()).put("kind", f.kind().id());
      if (f.httpStatus() > 0) {
        a.put("httpStatus", f.httpStatus());
      }
      if (keyIndex >= 0) {
        a.put("key", keyIndex + 1);
      }
      log.add(a);
    }

    private AttemptsFailure withAttempts(ModelFailure f) {
      return new AttemptsFailure(f, log.copy());
    }

    private long backoff(ModelConfig m, int retries) {
      long base = m.retry().backoffMs() << Math.min(retries, 20);
      long capped = Math.min(m.retry().maxBackoffMs(), base);
      return (long) (capped * (0.5 + ThreadLocalRandom.current().nextDouble() * 0.5));
    }

    private Future<Void> delay(long ms) {
      if (ms <= 0) {
        return Future.succeededFuture();
      }
      Promise<Void> p = Promise.promise();
      long timer = vertx.setTimer(ms, t -> p.tryComplete());
      AbortSignal.Registration onAbort = signal.onAbort(() -> {
        vertx.cancelTimer(timer);
        p.tryFail(new AbortSignal.Aborted(signal.reason()));
      });
      return p.future().onComplete(x -> onAbort.remove());
    }
  }

  /** The failure that ended a call, with every attempt that led to it (for {@code errorDetail.attempts}). */
  static final class AttemptsFailure extends RuntimeException {
    final ModelFailure last;
    final JsonArray attempts;

    AttemptsFailure(ModelFailure last, JsonArray attempts) {
      super(last.getMessage(), null, false, false);
      this.last = last;
      this.attempts = attempts;
    }
  }
}
