package dev.switchboard.agent;

import dev.switchboard.config.Secret;
import dev.switchboard.memory.MemoryVerticle;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The agent loop as the lane runs it, without the lane: a real database (H2, migrated), the real
 * memory engine on the real event bus, an {@link AgentRunner}, and a listener that stores tool events
 * the way the lane does. Turns run on one Vert.x context, like a lane's.
 */
final class AgentHarness implements AutoCloseable {
  final Vertx vertx;
  final DatabaseConfig db;
  final WorkspaceConfig workspace;
  final WorkspaceBus bus;
  final Pool pool;
  final EventStore events;
  final SessionStore sessions;
  final AgentRunner runner;
  final Context context;
  private final String memoryDeployment;

  /** What one turn reported and how it ended. */
  static final class Recording {
    final List<String> texts = Collections.synchronizedList(new ArrayList<>());
    final List<TurnListener.ToolCallEvent> calls = Collections.synchronizedList(new ArrayList<>());
    final List<TurnListener.ToolResultEvent> results = Collections.synchronizedList(new ArrayList<>());
    final List<JsonObject> compactions = Collections.synchronizedList(new ArrayList<>());
    String runId;
    /** The turn's abort signal (never fired here): what is still listening on it after the turn. */
    final AbortSignal signal = new AbortSignal();
    TurnOutcome outcome;
    TurnFailure failure;

    String lastText() {
      synchronized (texts) {
        return texts.isEmpty() ? "" : texts.get(texts.size() - 1);
      }
    }
  }

  private AgentHarness(Vertx vertx, DatabaseConfig db, WorkspaceConfig workspace, Pool pool, String memoryDeployment,
      Context context, AgentRunner runner) {
    this.vertx = vertx;
    this.db = db;
    this.workspace = workspace;
    this.bus = new WorkspaceBus(vertx.eventBus(), workspace.id());
    this.pool = pool;
    this.events = new EventStore(pool);
    this.sessions = new SessionStore(pool);
    this.memoryDeployment = memoryDeployment;
    this.context = context;
    this.runner = runner;
  }

  /** A workspace {@code ws-<n>} in {@code dir} whose only agent {@code main} is {@code agentJson}. */
  static AgentHarness start(Vertx vertx, Path dir, JsonObject agentJson, Map<String, String> env) throws Exception {
    String id = "agent" + Long.toString(System.nanoTime() % 1_000_000, 36);
    JsonObject raw = new JsonObject().put("port", 0).put("agents", new JsonArray().add(agentJson.copy().put("id", "main")));
    WorkspaceConfig ws = WorkspaceConfig.parse(id, dir, raw, "workspace.json", env);
    DatabaseConfig db = TestDatabases.h2();
    String schema = db.workspaceSchema(id);
    Database.migrate(vertx, db, schema).await(60, TimeUnit.SECONDS);
    Pool pool = Database.pool(vertx, db, schema);
    JsonObject deployment = WorkspaceContext.deploymentConfig(ws, db, new JsonObject(),
        Secret.of("harness-token-0123456789", "test"), env);
    String memory = vertx.deployVerticle(new MemoryVerticle(), new DeploymentOptions().setConfig(deployment))
        .await(30, TimeUnit.SECONDS);
    Context ctx = vertx.getOrCreateContext();
    WorkspaceBus bus = new WorkspaceBus(vertx.eventBus(), id);
    EventStore events = new EventStore(pool);
    AgentRunner runner = onContext(ctx, () -> Future.succeededFuture(new AgentRunner(vertx, bus,
        HistorySource.of(events, new SessionStore(pool)), events, new SessionStore(pool))));
    return new AgentHarness(vertx, db, ws, pool, memory, ctx, runner);
  }

  AgentConfig agent() {
    return workspace.agent("main");
  }

  Session session(String key) {
    return onContext(context, () -> sessions.open(key, "main", new JsonObject().put("kind", "api")
        .put("type", "direct"), new JsonObject()));
  }

  /** Appends to a session's log the simple way (tests store one thing at a time). */
  private Future<List<SessionEvent>> append(String sessionId, List<SessionEvent.New> list) {
    return events.nextSeq(sessionId).compose(next -> events.insertAt(pool, sessionId, next, list));
  }

  /** Stores a finished exchange in the session, as earlier turns would have left it. */
  void storeExchange(Session s, String runId, String user, String assistant) {
    onContext(context, () -> append(s.id(), List.of(
        new SessionEvent.New(SessionEvent.USER_MESSAGE, runId, new JsonObject().put("text", user)),
        new SessionEvent.New(SessionEvent.TEXT_FINAL, runId, new JsonObject().put("text", assistant)))));
  }

  /** Runs one turn to its end: stores the user message first (the lane's durable point), then the loop. */
  Recording turn(Session s, String text) {
    return turn(s, text, true, List::of);
  }

  /**
   * Runs one turn. {@code steering} is the lane's supplier of steer-mode messages; it is asked on the
   * turn's context, before each model call and before the turn would end.
   */
  Recording turn(Session s, String text, boolean owner, java.util.function.Supplier<List<TurnListener.Steering>> steering) {
    Recording rec = new Recording();
    rec.runId = "run-" + System.nanoTime();
    Future<TurnOutcome> result = onContext(context, () -> append(s.id(), List.of(new SessionEvent.New(
            SessionEvent.USER_MESSAGE, rec.runId, new JsonObject().put("text", text))))
        .map(v -> runner.run(new AgentRunner.Turn(agent(), new ToolContext(workspace.id(), "main", s.sessionKey(),
            s.id(), rec.runId, "operator:test", "Test", owner, "webchat", "default", "direct", "test", null),
            java.util.Set.of(rec.runId), text, workspace.session().historyLimit(), steering, false),
            listener(s, rec), rec.signal)));
    try {
      rec.outcome = result.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (!(e.getCause() instanceof TurnFailure f)) {
        throw new AssertionError("the turn failed outside the agent", e.getCause());
      }
      rec.failure = f;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    return rec;
  }

  /** Stores a steer-mode message in the session, as the lane does when it arrives. */
  void storeUserMessage(Session s, String runId, String text) {
    onContext(context, () -> append(s.id(), List.of(new SessionEvent.New(SessionEvent.USER_MESSAGE, runId,
        new JsonObject().put("text", text)))));
  }

  private TurnListener listener(Session s, Recording rec) {
    return new TurnListener() {
      @Override
      public void onText(String text) {
        rec.texts.add(text);
      }

      @Override
      public Future<Void> onToolCall(ToolCallEvent call) {
        rec.calls.add(call);
        return append(s.id(), List.of(new SessionEvent.New(SessionEvent.TOOL_CALL, rec.runId, call.toJson())))
            .mapEmpty();
      }

      @Override
      public Future<Void> onToolResult(ToolResultEvent result) {
        rec.results.add(result);
        return append(s.id(), List.of(new SessionEvent.New(SessionEvent.TOOL_RESULT, rec.runId,
            result.toJson()))).mapEmpty();
      }

      @Override
      public Future<Void> onCompacted(JsonObject compaction) {
        rec.compactions.add(compaction);
        return append(s.id(), List.of(new SessionEvent.New(SessionEvent.COMPACTION, rec.runId, compaction)))
            .mapEmpty();
      }
    };
  }

  List<SessionEvent> stored(Session s) {
    return onContext(context, () -> events.after(s.id(), 0, 10_000));
  }

  /** Sends a request on the workspace bus and waits for the answer. */
  JsonObject request(String address, JsonObject body) {
    return onContext(context, () -> bus.request(address, body, 10_000));
  }

  static <T> T onContext(Context ctx, java.util.function.Supplier<Future<T>> action) {
    Promise<T> p = Promise.promise();
    ctx.runOnContext(v -> {
      try {
        action.get().onComplete(p);
      } catch (RuntimeException e) {
        p.fail(e);
      }
    });
    try {
      return p.future().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    try {
      onContext(context, runner::close);
      vertx.undeploy(memoryDeployment).await(30, TimeUnit.SECONDS);
      pool.close().await(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // closing test resources
    }
    TestDatabases.dropSchemas(db);
  }
}
