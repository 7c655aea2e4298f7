package dev.switchboard.workspace;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.ConfigReader;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One workspace, from {@code workspaces/<id>/workspace.json}. Every key is documented in
 * {@code docs/configuration.md}. Sections owned by a component ({@code bindings}, {@code channels})
 * are kept raw here and validated by that component.
 *
 * @param id       the folder name: lower-case letters, digits, '-' and '_'
 * @param dir      the workspace folder
 * @param raw      the file as read (deployment config carries it; every verticle parses it again)
 * @param port     HTTP port for webchat, the protocol, probes and webhooks
 * @param agents   at least one; exactly one is the default
 * @param routing  owners, identity links, bindings, broadcast groups, channel access rules
 * @param session  session defaults ({@code dmScope}, {@code queueMode}, {@code historyLimit})
 * @param limits   turn deadline and concurrency caps
 */
public record WorkspaceConfig(
    String id,
    String name,
    Path dir,
    JsonObject raw,
    int port,
    List<AgentConfig> agents,
    RoutingRules routing,
    JsonObject channels,
    SessionDefaults session,
    Limits limits,
    DeliverySettings delivery,
    List<ConfigProblem> warnings) {

  /** What a message arriving during a turn does. */
  public static final List<String> QUEUE_MODES = List.of("followup", "collect", "interrupt", "steer");
  public static final List<String> DM_SCOPES = List.of("main", "per-peer", "per-channel-peer", "per-account-channel-peer");
  public static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,47}");
  private static final Pattern AGENT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /**
   * @param dmScope            how direct messages map to sessions: {@code main | per-peer | per-channel-peer |
   *                           per-account-channel-peer}; default per-channel-peer, or main when exactly one
   *                           sender is allowed and nobody else can write (no open or pairing account)
   * @param groupScope         {@code group} (one session per group) or {@code per-member} (one per member)
   * @param mainKey            the main session's name ({@code agent:<agent>:<mainKey>})
   * @param queueMode          what a message that arrives mid-turn does: {@code followup | collect | interrupt | steer}
   * @param collectDebounceMs  collect mode: quiet time after the last message before the merged turn runs
   * @param queueDrop          when a session's queue is full: {@code reject-new} or {@code drop-oldest}
   * @param historyLimit       how many earlier messages the model sees
   * @param unmentionedContext unmentioned group messages are shown to the model as context of the next turn
   * @param cacheSessions      sessions whose recent messages are kept in memory
   * @param cacheMessages      messages kept per cached session
   * @param streamIntervalMs   a streaming reply's text goes out at most this often (the rest is merged
   *                           into the next piece); 0 sends every piece the model streams
   */
  public record SessionDefaults(String dmScope, String groupScope, String mainKey, String queueMode,
      long collectDebounceMs, String queueDrop, int historyLimit, boolean unmentionedContext, int cacheSessions,
      int cacheMessages, long streamIntervalMs) {
  }

  /**
   * @param turnTimeoutMs       deadline of one turn; a lane never stays wedged longer
   * @param maxConcurrentTurns  interactive turns running at once across the workspace
   * @param maxBackgroundTurns  background turns (cron, heartbeat, subagents) running at once; they never take
   *                            an interactive slot
   * @param maxQueuedPerSession messages waiting behind a running turn, per session
   */
  public record Limits(long turnTimeoutMs, int maxConcurrentTurns, int maxBackgroundTurns, int maxQueuedPerSession) {
  }

  /**
   * @param mirror        a message delivered to an explicit target or a home chat is also stored in that
   *                      chat's session (as an assistant note), so the agent knows it was said
   * @param maxAttempts   sends of one obligation before it is given up as failed
   * @param backoffMs     wait after the first failed attempt; doubled after each further one
   * @param maxBackoffMs  longest wait between two attempts
   * @param sendTimeoutMs how long one operation on a channel may take before its outcome counts as unknown
   */
  public record DeliverySettings(boolean mirror, int maxAttempts, long backoffMs, long maxBackoffMs,
      long sendTimeoutMs) {
    public static final DeliverySettings DEFAULTS = new DeliverySettings(false, 8, 1_000, 300_000, 30_000);
  }

  public AgentConfig defaultAgent() {
    return agents.stream().filter(AgentConfig::isDefault).findFirst().orElse(agents.get(0));
  }

  public AgentConfig agent(String agentId) {
    return agents.stream().filter(a -> a.id().equals(agentId)).findFirst().orElse(null);
  }

  /**
   * Parses and validates. Throws {@link ConfigException} listing every problem with its key path;
   * unknown keys end up in {@link #warnings()}.
   */
  public static WorkspaceConfig parse(String id, Path dir, JsonObject json, String label,
      Map<String, String> env) {
    ConfigReader r = ConfigReader.root(json, label, env);
    if (!ID.matcher(id).matches()) {
      r.problem("(folder name)", "workspace id \"" + id
          + "\" must be lower-case letters, digits, '-' or '_' (at most 48)");
    }
    String declared = r.string("id", id);
    if (!declared.equals(id)) {
      r.problem("id", "must match the folder name \"" + id + "\" (or be left out), got \"" + declared + "\"");
    }
    String name = r.string("name", id);
    int port = 0;
    if (!r.has("port")) {
      r.problem("port", "is required (each workspace listens on its own port)");
    } else {
      port = r.integer("port", 0, 0, 65535);
    }

    List<AgentConfig> agents = new ArrayList<>();
    Set<String> agentIds = new java.util.LinkedHashSet<>();
    int defaults = 0;
    for (ConfigReader a : r.objects("agents")) {
      String agentId = a.identifier("id", null, AGENT_ID,
          "lower-case letters, digits, '-' or '_' (at most 64)");
      if (agentId != null && !agentIds.add(agentId)) {
        a.problem("id", "duplicate agent id \"" + agentId + "\"");
      }
      String agentName = a.string("name", agentId);
      boolean isDefault = a.bool("default", false);
      if (isDefault) {
        defaults++;
      }
      Path agentDir = dir.resolve(a.string("dir", ".")).normalize();
      if (!agentDir.startsWith(dir)) {
        a.problem("dir", "must stay inside the workspace folder");
        agentDir = dir;
      }
      ModelConfig model = a.has("model") ? ModelConfig.read(a.object("model")) : ModelConfig.echo();
      List<String> tools = AgentConfig.readTools(a);
      AgentConfig.Loop loop = AgentConfig.readLoop(a.object("loop"));
      AgentConfig.Context context = AgentConfig.readContext(a.object("context"));
      a.finish();
      agents.add(new AgentConfig(agentId == null ? "main" : agentId, agentName == null ? "main" : agentName,
          isDefault, agentDir, model, tools, loop, context));
    }
    if (defaults > 1) {
      r.problem("agents", "at most one agent may have \"default\": true, found " + defaults);
    }
    if (agents.isEmpty()) {
      agents.add(AgentConfig.defaults("main", "Main", true, dir));
    } else if (defaults == 0) {
      agents.set(0, agents.get(0).asDefault());
    }

    RoutingRules routing = RoutingRules.read(r, agents.stream().map(AgentConfig::id)
        .collect(java.util.stream.Collectors.toSet()));

    ConfigReader s = r.object("session");
    boolean soleSender = routing.allowedSenderCount() == 1 && routing.onlyListedSendersDm();
    String dmScope = s.string("dmScope", soleSender ? "main" : "per-channel-peer");
    if (!DM_SCOPES.contains(dmScope)) {
      s.problem("dmScope", "must be one of " + String.join(", ", DM_SCOPES) + ", got \"" + dmScope + "\"");
    }
    String groupScope = s.string("groupScope", "group");
    if (!List.of("group", "per-member").contains(groupScope)) {
      s.problem("groupScope", "must be group or per-member, got \"" + groupScope + "\"");
    }
    String mainKey = s.identifier("mainKey", "main", AGENT_ID, "lower-case letters, digits, '-' or '_'");
    String queueMode = s.string("queueMode", "followup");
    if (!QUEUE_MODES.contains(queueMode)) {
      s.problem("queueMode", "must be one of " + String.join(", ", QUEUE_MODES) + ", got \"" + queueMode + "\"");
    }
    long collectDebounceMs = s.longValue("collectDebounceMs", 1_500, 0, 600_000);
    String queueDrop = s.string("queueDrop", "reject-new");
    if (!List.of("reject-new", "drop-oldest").contains(queueDrop)) {
      s.problem("queueDrop", "must be reject-new or drop-oldest, got \"" + queueDrop + "\"");
    }
    int historyLimit = s.integer("historyLimit", 40, 0, 1000);
    boolean unmentionedContext = s.bool("unmentionedContext", true);
    long streamIntervalMs = s.longValue("streamIntervalMs", 50, 0, 5_000);
    ConfigReader cache = s.object("cache");
    int cacheSessions = cache.integer("sessions", 100, 0, 100_000);
    int cacheMessages = cache.integer("messages", 200, 1, 10_000);
    cache.finish();
    s.finish();

    ConfigReader l = r.object("limits");
    Limits limits = new Limits(
        l.longValue("turnTimeoutMs", 300_000, 1_000, 3_600_000),
        l.integer("maxConcurrentTurns", 16, 1, 10_000),
        l.integer("maxBackgroundTurns", 2, 1, 10_000),
        l.integer("maxQueuedPerSession", 50, 1, 10_000));
    l.finish();

    ConfigReader d = r.object("delivery");
    DeliverySettings dd = DeliverySettings.DEFAULTS;
    DeliverySettings delivery = new DeliverySettings(d.bool("mirror", dd.mirror()),
        d.integer("maxAttempts", dd.maxAttempts(), 1, 100),
        d.longValue("backoffMs", dd.backoffMs(), 10, 3_600_000),
        d.longValue("maxBackoffMs", dd.maxBackoffMs(), 10, 86_400_000),
        d.longValue("sendTimeoutMs", dd.sendTimeoutMs(), 100, 600_000));
    if (delivery.maxBackoffMs() < delivery.backoffMs()) {
      d.problem("maxBackoffMs", "must not be less than backoffMs (" + delivery.backoffMs() + ")");
    }
    d.finish();

    JsonObject channels = json.getValue("channels") instanceof JsonObject c ? c.copy() : new JsonObject();
    r.finish();
    if (!r.problems().isEmpty()) {
      throw new ConfigException(r.problems());
    }
    return new WorkspaceConfig(id, name, dir, json.copy(), port, List.copyOf(agents), routing, channels,
        new SessionDefaults(dmScope, groupScope, mainKey, queueMode, collectDebounceMs, queueDrop, historyLimit,
            unmentionedContext, cacheSessions, cacheMessages, streamIntervalMs), limits, delivery, List.copyOf(r.warnings()));
  }
}
