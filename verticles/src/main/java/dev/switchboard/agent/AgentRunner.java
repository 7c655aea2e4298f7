package dev.switchboard.agent;

import dev.switchboard.agent.providers.ModelProviders;
import dev.switchboard.agent.tools.ToolRegistry;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.ModelConfig;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The agent loop of one workspace: runs turns (context, model calls with failover, tools, until an
 * answer) and shows what the model would see for a session. One instance per component that needs
 * it; it holds only shared infrastructure (HTTP client, key cooldowns, the file cache), never a
 * turn's state: each turn gets its own {@link AgentLoop} with its own immutable {@link ToolContext}.
 */
public final class AgentRunner {
  private final ContextAssembler assembler;
  private final ToolRegistry tools;
  private final ModelProviders providers;
  private final ModelFailover failover;
  private final Vertx vertx;
  private final WorkspaceBus bus;

  /**
   * @param history where earlier messages and compactions come from (the lane's cache)
   * @param events  the session log, for the tools that read other sessions
   */
  public AgentRunner(Vertx vertx, WorkspaceBus bus, HistorySource history, EventStore events, SessionStore sessions) {
    this(vertx, bus, history, events, sessions, ModelProviders.DEFAULT_CONNECTIONS_PER_HOST);
  }

  /** @param modelConnections streaming model calls open at once per host (see {@link ModelProviders}) */
  public AgentRunner(Vertx vertx, WorkspaceBus bus, HistorySource history, EventStore events, SessionStore sessions,
      int modelConnections) {
    this.vertx = Objects.requireNonNull(vertx);
    this.bus = Objects.requireNonNull(bus);
    this.assembler = new ContextAssembler(vertx, history);
    this.tools = new ToolRegistry(bus, sessions, events);
    this.providers = new ModelProviders(vertx, modelConnections);
    this.failover = new ModelFailover(vertx, providers);
  }

  /**
   * One turn's inputs.
   *
   * @param context            who, where and which session: what the turn's tools act on
   * @param runIds             the runs whose user messages this turn answers (several when messages
   *                           were collected); they are stored in the session already
   * @param userText           what the turn answers (the collected messages joined)
   * @param historyLimit       earlier messages the model may see
   * @param steering           messages that arrived during the turn in steer mode (stored already): the
   *                           loop takes whatever it holds before each model call (the first, and each
   *                           one after tool results) and folds it in; what it never takes (the model
   *                           answered without another step) is left for the next turn
   * @param includeUntriggered show unmentioned group messages as context
   */
  public record Turn(AgentConfig agent, ToolContext context, Set<String> runIds, String userText, int historyLimit,
      Supplier<List<TurnListener.Steering>> steering, boolean includeUntriggered) {
    public Turn {
      Objects.requireNonNull(agent, "agent");
      Objects.requireNonNull(context, "context");
      runIds = Set.copyOf(runIds);
      steering = steering == null ? List::of : steering;
    }
  }

  /**
   * Runs a turn on the caller's context (the lane's). Completes with the answer, or fails with a
   * {@link TurnFailure} (kind {@code ABORTED} when {@code signal} fired); any other failure means the
   * listener could not store a step.
   */
  public Future<TurnOutcome> run(Turn turn, TurnListener listener, AbortSignal signal) {
    return new AgentLoop(vertx, failover, assembler, tools, bus, turn, listener, signal).run();
  }

  /**
   * Exactly what the model would be sent for the next turn of {@code sessionId} (null: a session with
   * no history yet): system prompt, earlier messages, tool schemas, the provider's request body as
   * it would go out (without credentials, and without the next user message), token estimates and
   * how the agent files were capped.
   */
  public Future<JsonObject> inspect(AgentConfig agent, String sessionId, int historyLimit, boolean includeUntriggered) {
    return assembler.assemble(agent, sessionId, Set.of(), historyLimit, includeUntriggered).map(a -> {
      ModelCall call = new ModelCall(a.system(), a.history(), tools.specs(agent));
      ModelConfig m = agent.model();
      JsonArray messages = new JsonArray();
      int historyChars = 0;
      for (ChatMessage msg : a.history()) {
        messages.add(new JsonObject().put("role", msg.role()).put("text", msg.text()));
        historyChars += msg.chars();
      }
      JsonArray toolSpecs = new JsonArray();
      int toolChars = 0;
      for (ToolSpec t : call.tools()) {
        toolSpecs.add(t.toJson());
        toolChars += t.chars();
      }
      JsonArray fallbacks = new JsonArray();
      m.fallbacks().forEach(f -> fallbacks.add(f.label()));
      return new JsonObject()
          .put("agentId", agent.id())
          .put("sessionId", sessionId)
          .put("model", new JsonObject().put("provider", m.provider()).put("model", m.model())
              .put("api", m.api()).put("baseUrl", safeUrl(m.effectiveBaseUrl()))
              .put("contextWindow", m.contextWindow() > 0 ? m.contextWindow() : null)
              .put("keys", m.apiKeys().size()).put("fallbacks", fallbacks))
          .put("system", a.system())
          .put("messages", messages)
          .put("tools", toolSpecs)
          .put("request", providers.forModel(m).requestBody(m, call))
          .put("context", a.describe())
          .put("estimate", new JsonObject().put("method", "characters / 4")
              .put("systemTokens", Tokens.estimate(a.system()))
              .put("historyTokens", Tokens.estimate(historyChars))
              .put("toolTokens", Tokens.estimate(toolChars))
              .put("totalTokens", call.estimatedTokens()));
    });
  }

  private static String safeUrl(String url) {
    if (url == null) {
      return null;
    }
    URI u = URI.create(url);
    return u.getScheme() + "://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "") + u.getRawPath();
  }

  public Future<Void> close() {
    return providers.close();
  }
}
