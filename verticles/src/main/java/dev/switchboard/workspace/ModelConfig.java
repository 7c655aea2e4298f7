package dev.switchboard.workspace;

import dev.switchboard.config.ConfigReader;
import dev.switchboard.config.Secret;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which model an agent talks to, and how hard to try. The built-in {@code echo} provider needs
 * nothing else and is the default, so a fresh install answers at once. Every key is documented in
 * {@code docs/configuration.md} and {@code docs/models.md}.
 *
 * @param provider         provider name (see {@link #PROVIDERS})
 * @param model            the provider's model name
 * @param baseUrl          API base URL including the version path ({@code https://api.openai.com/v1}); null
 *                         for the provider's default
 * @param apiKeys          secrets, usually {@code ${env:NAME}}; several keys of one provider are rotated
 *                         with cooldowns. Empty for local servers that need none
 * @param timeoutMs        upper bound for one model call, first byte to last
 * @param idleTimeoutMs    a streaming call that receives nothing for this long is abandoned
 * @param maxTokens        output token cap sent to the provider, or null for the provider's default
 *                         (Anthropic requires one: 4096 when unset)
 * @param contextWindow    the model's context size in tokens, or 0 when unknown; a prompt estimated
 *                         larger is compacted before it is sent
 * @param pricing          USD per million tokens, or null when unknown (cost is then not estimated)
 * @param retry            retries, backoff and key cooldowns
 * @param options          provider-specific request fields merged into the request body (for
 *                         example {@code temperature}); for echo: {@code chunkWords}, {@code chunkDelayMs}
 * @param fallbacks        models tried in order when this one fails for good (never nested)
 */
public record ModelConfig(String provider, String model, String baseUrl, List<Secret> apiKeys, long timeoutMs,
    long idleTimeoutMs, Integer maxTokens, int contextWindow, Pricing pricing, Retry retry, JsonObject options,
    List<ModelConfig> fallbacks) {

  /** Providers this build ships. */
  public static final List<String> PROVIDERS = List.of("echo", "openai", "anthropic", "openai-compatible", "ollama",
      "llamacpp", "vllm");
  /** Default base URLs; {@code openai-compatible} has none and needs {@code baseUrl}. */
  static final Map<String, String> DEFAULT_BASE_URLS = Map.of(
      "openai", "https://api.openai.com/v1",
      "anthropic", "https://api.anthropic.com/v1",
      "ollama", "http://127.0.0.1:11434/v1",
      "llamacpp", "http://127.0.0.1:8080/v1",
      "vllm", "http://127.0.0.1:8000/v1");
  static final long DEFAULT_TIMEOUT_MS = 120_000;
  static final long DEFAULT_IDLE_TIMEOUT_MS = 30_000;

  /**
   * Prices in USD per million tokens.
   *
   * @param cachedInputPerMTok price of prompt tokens read from the provider's cache (defaults to the input price)
   * @param cacheWritePerMTok  price of prompt tokens written to the provider's cache (Anthropic's cache
   *                           creation; defaults to the input price)
   */
  public record Pricing(double inputPerMTok, double outputPerMTok, double cachedInputPerMTok,
      double cacheWritePerMTok) {
    public JsonObject toJson() {
      return new JsonObject().put("inputPerMTok", inputPerMTok).put("outputPerMTok", outputPerMTok)
          .put("cachedInputPerMTok", cachedInputPerMTok).put("cacheWritePerMTok", cacheWritePerMTok);
    }
  }

  /**
   * How a failing call is retried before the next fallback is tried.
   *
   * @param maxRetries      retries of one model after its first attempt (rate limits, overload, 5xx,
   *                        timeouts, broken streams); a rate-limited key with a healthy sibling is
   *                        retried at once on the sibling
   * @param backoffMs       first backoff; doubles per retry, with jitter
   * @param maxBackoffMs    upper bound of one backoff
   * @param maxRetryAfterMs the longest {@code Retry-After} honoured by waiting; longer ones move on to
   *                        the next fallback at once
   * @param keyCooldownMs   how long a rate-limited key rests when the provider gives no {@code Retry-After}
   */
  public record Retry(int maxRetries, long backoffMs, long maxBackoffMs, long maxRetryAfterMs, long keyCooldownMs) {
    public static final Retry DEFAULT = new Retry(2, 500, 8_000, 30_000, 60_000);
  }

  public static ModelConfig echo() {
    return new ModelConfig("echo", "echo", null, List.of(), DEFAULT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, null, 0,
        null, Retry.DEFAULT, new JsonObject(), List.of());
  }

  /** The wire format: {@code openai} (Chat Completions, also every compatible server), {@code anthropic}, {@code echo}. */
  public String api() {
    return switch (provider) {
      case "echo" -> "echo";
      case "anthropic" -> "anthropic";
      default -> "openai";
    };
  }

  /** The configured base URL or the provider's default, without a trailing slash. */
  public String effectiveBaseUrl() {
    String url = baseUrl != null ? baseUrl : DEFAULT_BASE_URLS.get(provider);
    if (url == null) {
      return null;
    }
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  /** This model followed by its fallbacks: the order a call tries them in. */
  public List<ModelConfig> chain() {
    List<ModelConfig> out = new ArrayList<>();
    out.add(this);
    out.addAll(fallbacks);
    return out;
  }

  /** {@code provider/model}, the name used in logs, events and status views. */
  public String label() {
    return provider + "/" + model;
  }

  static ModelConfig read(ConfigReader r) {
    ModelConfig primary = read(r, null);
    List<ModelConfig> fallbacks = new ArrayList<>();
    for (ConfigReader f : r.objects("fallbacks")) {
      fallbacks.add(read(f, primary));
      f.finish();
    }
    r.finish();
    return new ModelConfig(primary.provider, primary.model, primary.baseUrl, primary.apiKeys, primary.timeoutMs,
        primary.idleTimeoutMs, primary.maxTokens, primary.contextWindow, primary.pricing, primary.retry,
        primary.options, List.copyOf(fallbacks));
  }

  /**
   * Reads one model. A fallback ({@code parent} not null) of the same provider inherits the parent's
   * base URL, keys, timeouts, retry policy and token cap unless it sets its own.
   */
  private static ModelConfig read(ConfigReader r, ModelConfig parent) {
    String provider = r.string("provider", parent != null ? parent.provider : "echo");
    if (!PROVIDERS.contains(provider)) {
      r.problem("provider", "unknown provider \"" + provider + "\"; this build knows " + String.join(", ", PROVIDERS));
      provider = "echo";
    }
    boolean inherit = parent != null && parent.provider.equals(provider);
    String model = r.string("model", provider.equals("echo") ? "echo" : null);
    if (model == null || model.isBlank()) {
      r.problem("model", "is required for provider " + provider);
      model = "unknown";
    }
    String baseUrl = r.string("baseUrl", inherit ? parent.baseUrl : null);
    if (baseUrl != null && !validHttpUrl(baseUrl)) {
      r.problem("baseUrl", "must be an http:// or https:// URL without credentials, query or fragment");
      baseUrl = null;
    }
    if (baseUrl == null && provider.equals("openai-compatible")) {
      r.problem("baseUrl", "is required for provider openai-compatible (for example http://127.0.0.1:8000/v1)");
    }
    List<Secret> keys = new ArrayList<>();
    Secret single = r.secret("apiKey");
    if (single != null) {
      if (single.isEmpty()) {
        r.problem("apiKey", "must not be empty");
      } else {
        keys.add(single);
      }
    }
    keys.addAll(r.secrets("apiKeys"));
    if (keys.isEmpty() && inherit) {
      keys.addAll(parent.apiKeys);
    }
    if (keys.isEmpty() && baseUrl == null && (provider.equals("openai") || provider.equals("anthropic"))
        && !r.has("apiKey") && !r.has("apiKeys")) {
      r.problem("apiKey", "is required for provider " + provider + " (write it as ${env:"
          + provider.toUpperCase() + "_API_KEY})");
    }
    long timeoutMs = r.longValue("timeoutMs", inherit ? parent.timeoutMs : DEFAULT_TIMEOUT_MS, 1_000, 3_600_000);
    long idleDefault = Math.min(timeoutMs, inherit ? parent.idleTimeoutMs : DEFAULT_IDLE_TIMEOUT_MS);
    long idleTimeoutMs = r.longValue("idleTimeoutMs", idleDefault, 100, 3_600_000);
    if (idleTimeoutMs > timeoutMs) {
      r.problem("idleTimeoutMs", "must not be larger than timeoutMs (" + timeoutMs + "), got " + idleTimeoutMs);
    }
    Integer maxTokens = null;
    if (r.has("maxTokens")) {
      maxTokens = r.integer("maxTokens", 4096, 1, 1_000_000);
    } else if (inherit) {
      maxTokens = parent.maxTokens;
    }
    int contextWindow = r.integer("contextWindow", 0, 0, 100_000_000);
    Pricing pricing = r.has("pricing") ? pricing(r.object("pricing")) : null;
    Retry retry = r.has("retry") ? retry(r.object("retry")) : inherit ? parent.retry : Retry.DEFAULT;
    JsonObject options = r.raw("options");
    if (parent != null && r.has("fallbacks")) {
      r.problem("fallbacks", "a fallback cannot have fallbacks of its own");
    }
    return new ModelConfig(provider, model, baseUrl, List.copyOf(keys), timeoutMs, idleTimeoutMs, maxTokens,
        contextWindow, pricing, retry, options, List.of());
  }

  private static Pricing pricing(ConfigReader p) {
    double in = p.number("inputPerMTok", 0.0, 0, 1_000_000);
    double out = p.number("outputPerMTok", 0.0, 0, 1_000_000);
    double cached = p.number("cachedInputPerMTok", in, 0, 1_000_000);
    double cacheWrite = p.number("cacheWritePerMTok", in, 0, 1_000_000);
    p.finish();
    return new Pricing(in, out, cached, cacheWrite);
  }

  private static Retry retry(ConfigReader r) {
    Retry d = Retry.DEFAULT;
    Retry retry = new Retry(
        r.integer("maxRetries", d.maxRetries(), 0, 10),
        r.longValue("backoffMs", d.backoffMs(), 0, 600_000),
        r.longValue("maxBackoffMs", d.maxBackoffMs(), 0, 3_600_000),
        r.longValue("maxRetryAfterMs", d.maxRetryAfterMs(), 0, 3_600_000),
        r.longValue("keyCooldownMs", d.keyCooldownMs(), 0, 86_400_000));
    r.finish();
    return retry;
  }

  private static boolean validHttpUrl(String s) {
    try {
      URI u = new URI(s);
      // credentials belong in apiKey (a secret), never in a URL that ends up in logs and views
      return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null
          && u.getRawUserInfo() == null && u.getRawQuery() == null && u.getRawFragment() == null;
    } catch (URISyntaxException e) {
      return false;
    }
  }
}
