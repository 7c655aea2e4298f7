package dev.switchboard.http;

import dev.switchboard.channels.ChannelAddresses;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.store.Session;
import dev.switchboard.store.UsageTotals;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Gateway-level methods: health, status and the catalogue lists clients load at start. */
final class GatewayMethods {
  private static final long BUS_TIMEOUT_MS = 10_000;

  private GatewayMethods() {
  }

  static void register(MethodTable t, ProtocolServer s) {
    t.add("health", Scopes.READ, c -> health(s));
    t.add("status", Scopes.READ, c -> status(s));
    t.add("models.list", Scopes.READ, c -> Future.succeededFuture(models(s.workspace())));
    t.add("agents.list", Scopes.READ, c -> Future.succeededFuture(agents(s.workspace())));
    t.add("commands.list", Scopes.READ, c -> Future.succeededFuture(commands(c)));
    t.add("config.get", Scopes.READ, c -> Future.succeededFuture(
        new JsonObject().put("runtimeConfig", new JsonObject().put("gateway", new JsonObject()))));
    t.add("question.list", Scopes.QUESTIONS, c -> Future.succeededFuture(new JsonObject().put("questions", new JsonArray())));
    t.add("plugin.approval.list", Scopes.APPROVALS, c -> Future.succeededFuture(new JsonArray()));
  }

  private static Future<JsonObject> health(ProtocolServer s) {
    long t0 = System.currentTimeMillis();
    WorkspaceConfig ws = s.workspace();
    return Future.all(s.sessions().countHeads(null), s.sessions().heads(null, 5, 0)).map(all -> {
      int count = all.resultAt(0);
      List<Session> recent = all.resultAt(1);
      long now = System.currentTimeMillis();
      JsonArray recentRows = new JsonArray();
      recent.forEach(r -> recentRows.add(new JsonObject().put("key", r.sessionKey())
          .put("updatedAt", r.lastActivityAt().toEpochMilli()).put("age", now - r.lastActivityAt().toEpochMilli())));
      JsonObject sessions = new JsonObject().put("path", "sessions").put("count", count).put("recent", recentRows);
      JsonArray agents = new JsonArray();
      for (AgentConfig a : ws.agents()) {
        agents.add(new JsonObject().put("agentId", a.id()).put("isDefault", a.isDefault())
            .put("heartbeat", new JsonObject().put("enabled", false).put("every", "0").putNull("everyMs")
                .put("prompt", "").put("target", "none").put("ackMaxChars", 0))
            .put("sessions", sessions));
      }
      return new JsonObject().put("ok", true).put("ts", now).put("durationMs", now - t0)
          .put("workspace", ws.id()).put("channels", new JsonObject()).put("channelOrder", new JsonArray())
          .put("channelLabels", new JsonObject()).put("heartbeatSeconds", 0)
          .put("defaultAgentId", ws.defaultAgent().id()).put("agents", agents).put("sessions", sessions);
    });
  }

  static Future<JsonObject> status(ProtocolServer s) {
    WorkspaceConfig ws = s.workspace();
    Future<JsonObject> lanes = s.bus().request(LaneAddresses.STATUS, new JsonObject(), BUS_TIMEOUT_MS);
    Future<JsonObject> delivery = s.bus().request(DeliveryAddresses.STATS, new JsonObject(), BUS_TIMEOUT_MS);
    Future<List<Session>> recentSessions = s.sessions().heads(null, 10, 0);
    // the recent sessions' own usage, looked up by key: a ranking of the heaviest keys may not hold them
    Future<Map<String, UsageTotals>> recentUsage = recentSessions.compose(recent -> s.sessions().usageOfKeys(
        recent.stream().map(Session::sessionKey).toList()));
    Future<UsageTotals> usage = s.sessions().usageTotals();
    Future<JsonArray> channels = channelSummary(s);
    return Future.all(List.of(s.sessions().countHeads(null), recentSessions, lanes, delivery, usage,
            channels, recentUsage))
        .map(all -> {
      long now = System.currentTimeMillis();
      List<Session> recent = all.resultAt(1);
      Map<String, UsageTotals> byKey = all.resultAt(6);
      JsonArray rows = new JsonArray();
      for (Session r : recent) {
        AgentConfig a = ws.agent(r.agentId());
        JsonObject row = new JsonObject().put("key", r.sessionKey()).put("kind", r.type())
            .put("age", now - r.lastActivityAt().toEpochMilli())
            .put("model", a == null ? null : a.model().model()).put("flags", new JsonArray());
        UsageTotals used = byKey.get(r.sessionKey());
        if (used != null) {
          row.put("inputTokens", used.inputTokens()).put("outputTokens", used.outputTokens())
              .put("totalTokens", used.inputTokens() + used.outputTokens()).put("costUsd", used.costNanos() / 1e9);
        }
        if (a != null && a.model().contextWindow() > 0) {
          row.put("contextTokens", a.model().contextWindow());
        }
        rows.add(row);
      }
      return new JsonObject()
          .put("runtimeVersion", ProtocolServer.VERSION)
          .put("workspace", ws.id())
          .put("uptimeMs", s.uptimeMs())
          .put("connections", s.connectionCount())
          .put("websocket", s.connectionStats())
          .put("heartbeat", new JsonObject().put("defaultAgentId", ws.defaultAgent().id()).put("agents", new JsonArray()))
          .put("sessions", new JsonObject().put("paths", new JsonArray().add("sessions")).put("count", all.resultAt(0))
              .put("defaults", new JsonObject().put("model", ws.defaultAgent().model().model()))
              .put("recent", rows))
          .put("lanes", all.resultAt(2))
          .put("delivery", all.resultAt(3))
          .put("usage", ((UsageTotals) all.resultAt(4)).toJson())
          .put("channelSummary", summaryLines(all.resultAt(5)))
          .put("channels", all.resultAt(5))
          .put("queuedSystemEvents", new JsonArray());
    });
  }

  /**
   * What each configured channel account's transport is doing (polling, webhook, a conflict with
   * another poller, ...), as its adapter reports it; accounts whose adapter reports nothing are left out.
   */
  private static Future<JsonArray> channelSummary(ProtocolServer s) {
    List<Future<JsonObject>> asked = s.workspace().routing().accounts().stream()
        .map(a -> s.bus().request(ChannelAddresses.status(a.channel(), a.id()), new JsonObject(), 2_000)
            .recover(err -> Future.<JsonObject>succeededFuture(null)))
        .toList();
    return Future.all(asked).map(x -> {
      JsonArray out = new JsonArray();
      asked.forEach(f -> {
        if (f.result() != null) {
          out.add(f.result());
        }
      });
      return out;
    });
  }

  /**
   * One line per channel account, as OpenClaw's TUI prints {@code channelSummary}: e.g.
   * {@code telegram/main (@helper_bot): conflict - Conflict: terminated by other getUpdates request}.
   */
  static JsonArray summaryLines(JsonArray channels) {
    JsonArray lines = new JsonArray();
    for (Object o : channels) {
      JsonObject c = (JsonObject) o;
      StringBuilder line = new StringBuilder().append(c.getString("channel")).append('/').append(c.getString("accountId"));
      if (c.getString("bot") != null) {
        line.append(" (@").append(c.getString("bot")).append(')');
      }
      line.append(": ").append(c.getString("state", "unknown"));
      if (c.getString("detail") != null) {
        line.append(" - ").append(c.getString("detail"));
      }
      lines.add(line.toString());
    }
    return lines;
  }

  private static JsonObject models(WorkspaceConfig ws) {
    Map<String, JsonObject> models = new LinkedHashMap<>();
    for (AgentConfig a : ws.agents()) {
      String id = a.model().provider() + "/" + a.model().model();
      models.putIfAbsent(id, new JsonObject().put("id", a.model().model())
          .put("name", a.model().provider().equals("echo") ? "Echo (built-in)" : a.model().model())
          .put("provider", a.model().provider()).put("reasoning", false));
    }
    return new JsonObject().put("models", new JsonArray(List.copyOf(models.values())));
  }

  /**
   * The slash commands a message may start with (handled by routing and the session's lane,
   * {@code routing.Commands}): text commands, typed into the chat.
   */
  static final List<JsonObject> COMMANDS = List.of(
      command("stop", "Stop the reply that is running in this session", false),
      command("new", "Start a new session under the same key; text after the command is its first message", true),
      command("reset", "Reset this session (same as /new)", true),
      command("status", "Show what runs and what waits in this session", false),
      command("sethome", "Make this chat its account's home chat for automation (owners)", false));

  private static JsonObject command(String name, String description, boolean acceptsArgs) {
    return new JsonObject().put("name", name).put("description", description).put("source", "native")
        .put("scope", "text").put("acceptsArgs", acceptsArgs);
  }

  private static JsonObject commands(MethodCall c) {
    String scope = c.string("scope", false, 16);
    if (scope != null && !List.of("text", "native", "both").contains(scope)) {
      throw c.invalid("'scope' must be text, native or both");
    }
    c.string("agentId", false, 128);
    c.string("sessionKey", false, 512);
    c.bool("includeArgs", false);
    JsonArray list = new JsonArray();
    if (!"native".equals(scope)) {
      COMMANDS.forEach(x -> list.add(x.copy()));
    }
    return new JsonObject().put("commands", list);
  }

  private static JsonObject agents(WorkspaceConfig ws) {
    JsonArray list = new JsonArray();
    ws.agents().forEach(a -> list.add(new JsonObject().put("id", a.id()).put("name", a.name())));
    return new JsonObject().put("defaultId", ws.defaultAgent().id()).put("mainKey", ws.session().mainKey())
        .put("scope", ProtocolServer.clientScope(ws)).put("agents", list);
  }
}
