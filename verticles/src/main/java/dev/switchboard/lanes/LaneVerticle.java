package dev.switchboard.lanes;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.AgentAddresses;
import dev.switchboard.agent.AgentRunner;
import dev.switchboard.agent.SilenceMarkers;
import dev.switchboard.agent.ToolContext;
import dev.switchboard.agent.TurnFailure;
import dev.switchboard.agent.TurnListener;
import dev.switchboard.agent.TurnOutcome;
import dev.switchboard.agent.providers.ModelProviders;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.memory.MemoryAddresses;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.HomeTargetStore;
import dev.switchboard.store.InboundRecord;
import dev.switchboard.store.InboundStore;
import dev.switchboard.store.Obligation;
import dev.switchboard.store.OutboxStore;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serialises turns per session: one lane per session key, turns one at a time in arrival order,
 * workspace-wide caps on turns running at once (interactive and background counted apart, so
 * background work never delays a reply), and a deadline on every turn so a lane can never stay
 * wedged. A message that arrives during a turn follows its queue mode: {@code followup} (runs
 * after), {@code collect} (merged with the others that arrived, after a quiet period),
 * {@code interrupt} (aborts the running turn, runs next), {@code steer} (folded into the running
 * turn at its next model step, else runs next). Commands ({@code /stop}, {@code /new},
 * {@code /reset}, {@code /status}) never wait in the queue.
 *
 * <p>Durable points: the user message is stored before the model is called; the reply, its
 * delivery obligation and the inbound's completion commit in one transaction. Every message of
 * the workspace is stored here, which keeps the history cache current.
 */
public final class LaneVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(LaneVerticle.class);
  /** After the deadline fires, how long a turn may take to wind down before the lane moves on regardless. */
  static final long WIND_DOWN_MS = 5_000;
  private static final long MEMORY_TIMEOUT_MS = 10_000;
  /** What a channel user sees when a turn ends without an answer (never internal details). */
  static final Map<String, String> FAILURE_NOTICES = Map.of(
      "timeout", "Sorry, this reply took too long and was stopped. Please try again.",
      "rate_limit", "Sorry, the model is busy right now. Please try again in a minute.",
      "context_length", "Sorry, this conversation has grown too long for the model. Send /new to start afresh.",
      "refusal", "Sorry, I can't help with that.",
      "unknown", "Sorry, I could not answer this time. Please try again.");
  /** What a channel user sees when a full queue refuses a message. */
  public static final String QUEUE_FULL_NOTICE = "Too many messages are waiting in this conversation, so I did not take"
      + " your last one. Please send it again once I have answered.";

  private WorkspaceConfig workspace;
  private WorkspaceBus bus;
  private Pool pool;
  private EventStore events;
  private InboundStore inbound;
  private OutboxStore outbox;
  private SessionStore sessions;
  private HomeTargetStore homes;
  private HistoryCache history;
  private AgentRunner agent;
  private final RunRegistry runs = new RunRegistry();
  private SessionLog log;
  /** Key → current session id, for recently used keys (the lane opens and rolls sessions). */
  private final Map<String, String> sessionIds = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > 10_000;
    }
  };
  /**
   * Key → the metadata its current session holds, for recently used keys: a message whose channel
   * metadata is already there needs no write; one that brings something new (another channel, account
   * or thread) is merged in.
   */
  private final Map<String, JsonObject> metadataKnown = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, JsonObject> eldest) {
      return size() > 10_000;
    }
  };
  private final Map<String, Future<String>> opening = new HashMap<>();
  private final Map<String, Lane> lanes = new HashMap<>();
  private final Slots interactive = new Slots();
  private final Slots background = new Slots();
  private boolean stopping;

  /** Turns running at once in one class, and the lanes waiting for a slot, in order. */
  private static final class Slots {
    int running;
    final Set<Lane> waiting = new LinkedHashSet<>();
  }

  /**
   * One queued message and when it came. {@code behindTurn}: it arrived while a turn was running;
   * {@code ahead}: it was put ahead of the waiting messages (an interrupt, or steering a turn never took).
   */
  private record Queued(TurnRequest request, long at, boolean behindTurn, boolean ahead) {
    Queued(TurnRequest request, long at, boolean behindTurn) {
      this(request, at, behindTurn, false);
    }
  }

  /** One session key's queue and its running turn. */
  private static final class Lane {
    final String sessionKey;
    final LinkedList<Queued> queue = new LinkedList<>();
    Turn active;
    long collectTimer = -1;
    long lastArrival;
    /** The sender was told that the full queue refused a message (reset once a message is taken again). */
    boolean refusalTold;

    Lane(String sessionKey) {
      this.sessionKey = sessionKey;
    }
  }

  /** A turn in progress: one run, or several collected messages answered together. */
  private static final class Turn {
    final TurnRequest request;
    final List<TurnRequest> merged;
    final RunRegistry.Run run;
    final boolean isBackground;
    final AbortSignal signal = new AbortSignal();
    final Promise<Void> done = Promise.promise();
    /** Steer-mode messages waiting for the next model step (already stored as user messages). */
    final ArrayDeque<TurnRequest> steering = new ArrayDeque<>();
    final List<TurnRequest> steered = new ArrayList<>();
    long runSeq;
    String raw = "";
    String visible = "";
    /** The visible text as of the last delta that went out, when, and the timer of the next one. */
    String published = "";
    long publishedAt;
    long deltaTimer = -1;
    long deadlineTimer;
    long guardTimer;

    Turn(TurnRequest request, List<TurnRequest> merged, RunRegistry.Run run) {
      this.request = request;
      this.merged = merged;
      this.run = run;
      this.isBackground = request.background();
    }

    List<TurnRequest> all() {
      List<TurnRequest> out = new ArrayList<>(merged.size() + 1);
      out.add(request);
      out.addAll(merged);
      return out;
    }
  }

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    workspace = ctx.config();
    bus = ctx.bus(vertx);
    pool = ctx.pool(vertx);
    events = new EventStore(pool);
    inbound = new InboundStore(pool);
    outbox = new OutboxStore(pool);
    sessions = new SessionStore(pool);
    homes = new HomeTargetStore(pool);
    history = new HistoryCache(events, sessions, workspace.session().cacheSessions(), workspace.session().cacheMessages());
    log = new SessionLog(pool, events, history);
    // every turn the caps let run may be in a model call at once: the pool must not be a hidden cap
    int modelConnections = Math.max(ModelProviders.DEFAULT_CONNECTIONS_PER_HOST,
        workspace.limits().maxConcurrentTurns() + workspace.limits().maxBackgroundTurns());
    agent = new AgentRunner(vertx, bus, history, events, sessions, modelConnections);
    return Future.all(List.of(
            bus.<JsonObject>consumer(LaneAddresses.ENQUEUE, this::onEnqueue).completion(),
            bus.<JsonObject>consumer(LaneAddresses.NOTE, this::onNote).completion(),
            bus.<JsonObject>consumer(LaneAddresses.DELETE, this::onDelete).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.DELIVERED, this::onDelivered).completion(),
            bus.<JsonObject>consumer(LaneAddresses.ABORT, this::onAbort).completion(),
            bus.<JsonObject>consumer(LaneAddresses.WAIT, this::onWait).completion(),
            bus.<JsonObject>consumer(LaneAddresses.RUN, this::onRun).completion(),
            bus.<JsonObject>consumer(AgentAddresses.WORKING_MEMORY, this::onWorkingMemory).completion(),
            bus.<JsonObject>consumer(LaneAddresses.STATUS, m -> m.reply(status(m.body() == null ? null
                : m.body().getString("sessionKey")))).completion()))
        // a process that stopped mid-turn left those sessions marked running
        .compose(v -> sessions.resetRunning());
  }

  /**
   * Lets running turns finish within the shutdown budget, then aborts what is left. Queued
   * messages stay stored and are resumed by the next start.
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    List<Future<Void>> active = new ArrayList<>();
    for (Lane lane : lanes.values()) {
      vertx.cancelTimer(lane.collectTimer);
      if (lane.active != null) {
        active.add(lane.active.done.future());
      }
    }
    if (active.isEmpty()) {
      return agent.close();
    }
    long grace = config().getJsonObject("gateway", new JsonObject()).getLong("shutdownGraceMs", 5_000L);
    Promise<Void> all = Promise.promise();
    Future.join(active).onComplete(x -> all.tryComplete());
    long timer = vertx.setTimer(Math.max(1, grace), t -> {
      for (Lane lane : lanes.values()) {
        if (lane.active != null) {
          lane.active.signal.abort("shutdown");
        }
      }
    });
    return all.future().onComplete(x -> vertx.cancelTimer(timer)).compose(v -> agent.close());
  }

  // ---- enqueue -------------------------------------------------------------------------------

  private void onEnqueue(Message<JsonObject> msg) {
    TurnRequest t;
    try {
      t = TurnRequest.fromJson(msg.body());
    } catch (RuntimeException e) {
      msg.fail(BusFailure.BAD_REQUEST, "malformed turn request: " + e.getMessage());
      return;
    }
    if (stopping) {
      msg.fail(BusFailure.UNAVAILABLE, "gateway is stopping");
      return;
    }
    RunRegistry.Run existing = runs.get(t.runId());
    if (existing != null) {
      msg.reply(new JsonObject().put("runId", t.runId()).put("status", existing.finished() ? "ok" : "in_flight"));
      return;
    }
    if (workspace.agent(t.agentId()) == null) {
      msg.fail(BusFailure.BAD_REQUEST, "unknown agent \"" + t.agentId() + "\"");
      return;
    }
    // registered at once: a copy of the same message arriving meanwhile is answered in_flight
    runs.register(t);
    TurnRequest request = t;
    sessionOf(t).onComplete(ar -> {
      if (ar.failed()) {
        finishRun(request, "error", ar.cause().getMessage(), null);
        BusFailure.reply(msg, ar.cause(), LOG);
        return;
      }
      accept(msg, request.withSession(ar.result()));
    });
  }

  /** The message, now with its session: a command, context without a turn, or a turn for the lane. */
  private void accept(Message<JsonObject> msg, TurnRequest t) {
    runs.get(t.runId()).sessionId = t.sessionId();
    // routing hands a command only with a message that triggers a turn (its group gating decides)
    if (t.command() != null) {
      command(t).onComplete(ar -> {
        if (ar.succeeded()) {
          msg.reply(ar.result());
        } else {
          finishRun(t, "error", ar.cause().getMessage(), null);
          BusFailure.reply(msg, ar.cause(), LOG);
        }
      });
      return;
    }
    if (!t.trigger()) {
      // stored as context without a turn; it bypasses the queue, its place in the log is when it came
      appendOnly(t).onComplete(ar -> {
        if (ar.succeeded()) {
          finishRun(t, "ok", null, "stored");
          msg.reply(new JsonObject().put("runId", t.runId()).put("status", "stored").put("sessionId", t.sessionId()));
        } else {
          finishRun(t, "error", ar.cause().getMessage(), null);
          BusFailure.reply(msg, ar.cause(), LOG);
        }
      });
      return;
    }
    Lane lane = lanes.computeIfAbsent(t.sessionKey(), Lane::new);
    if (lane.queue.size() >= workspace.limits().maxQueuedPerSession()) {
      if (workspace.session().queueDrop().equals("drop-oldest")) {
        dropQueued(lane.queue.pollFirst().request(), "dropped: the session's queue was full");
      } else {
        refuse(lane, t, msg);
        return;
      }
    }
    lane.refusalTold = false;
    long now = System.currentTimeMillis();
    lane.lastArrival = now;
    Turn active = lane.active;
    if (active != null && "steer".equals(t.queueMode()) && !active.signal.aborted()) {
      // stored now; the running turn takes it at its next model step, or it runs next
      steer(lane, t).onComplete(ar -> replyEnqueued(msg, t, ar.failed() ? ar.cause() : null));
      return;
    }
    if (active != null && "interrupt".equals(t.queueMode())) {
      active.signal.abort("interrupt");
      // ahead of the waiting messages, behind the interrupts that came before it: they run in arrival order
      lane.queue.add(aheadCount(lane), new Queued(t, now, true, true));
    } else {
      lane.queue.addLast(new Queued(t, now, active != null));
    }
    replyEnqueued(msg, t, null);
    pump(lane);
  }

  /**
   * The current session of a message's key. The lane opens sessions (and is the only one that
   * rolls them), so it keeps the answer; lookups of one key are shared while in flight, so messages
   * keep their order.
   */
  private Future<String> sessionOf(TurnRequest t) {
    if (t.sessionId() != null) {
      return Future.succeededFuture(t.sessionId());
    }
    return sessionOf(t.sessionKey(), t.agentId(), t.source(), t.metadata());
  }

  private Future<String> sessionOf(String key, String agentId, JsonObject source, JsonObject metadata) {
    Future<String> pending = opening.get(key);
    if (pending != null) {
      // after the open in flight, in arrival order; then this message's metadata may need a merge of its own
      return pending.compose(x -> sessionOf(key, agentId, source, metadata));
    }
    String known = sessionIds.get(key);
    JsonObject held = metadataKnown.get(key);
    if (known != null && (metadata.isEmpty() || held != null && SessionStore.containsAll(held, metadata))) {
      return Future.succeededFuture(known);
    }
    Promise<String> opened = Promise.promise();
    opening.put(key, opened.future());
    sessions.open(key, agentId, source, metadata).onComplete(ar -> {
      // no longer in flight before anyone waiting on it hears the answer
      opening.remove(key, opened.future());
      if (ar.succeeded()) {
        sessionIds.put(key, ar.result().id());
        metadataKnown.put(key, ar.result().metadata());
        opened.complete(ar.result().id());
      } else {
        opened.fail(ar.cause());
      }
    });
    return opened.future();
  }

  private void replyEnqueued(Message<JsonObject> msg, TurnRequest t, Throwable err) {
    if (err != null) {
      finishRun(t, "error", err.getMessage(), null);
      BusFailure.reply(msg, err, LOG);
    } else {
      msg.reply(new JsonObject().put("runId", t.runId()).put("status", "started").put("sessionId", t.sessionId()));
    }
  }

  /** How many messages at the head of the queue were put ahead of the others. */
  private static int aheadCount(Lane lane) {
    int n = 0;
    for (Queued q : lane.queue) {
      if (!q.ahead()) {
        break;
      }
      n++;
    }
    return n;
  }

  /** Starts the lane's next turn if the lane is free, its collect window has passed and a slot is open. */
  private void pump(Lane lane) {
    if (lane.active != null) {
      return;
    }
    if (lane.queue.isEmpty()) {
      lanes.remove(lane.sessionKey, lane);
      interactive.waiting.remove(lane);
      background.waiting.remove(lane);
      return;
    }
    Queued head = lane.queue.peekFirst();
    if (isCollecting(head)) {
      long due = lane.lastArrival + workspace.session().collectDebounceMs();
      long now = System.currentTimeMillis();
      if (now < due) {
        vertx.cancelTimer(lane.collectTimer);
        lane.collectTimer = vertx.setTimer(due - now, x -> {
          lane.collectTimer = -1;
          pump(lane);
        });
        return;
      }
    }
    Slots slots = head.request().background() ? background : interactive;
    int cap = head.request().background() ? workspace.limits().maxBackgroundTurns()
        : workspace.limits().maxConcurrentTurns();
    if (slots.running >= cap) {
      slots.waiting.add(lane);
      return;
    }
    slots.waiting.remove(lane);
    Queued first = lane.queue.pollFirst();
    List<TurnRequest> merged = new ArrayList<>();
    if (isCollecting(first)) {
      while (!lane.queue.isEmpty() && isCollecting(lane.queue.peekFirst())
          && lane.queue.peekFirst().request().sessionId().equals(first.request().sessionId())) {
        merged.add(lane.queue.pollFirst().request());
      }
    }
    start(lane, first.request(), merged, slots);
  }

  private static boolean isCollecting(Queued q) {
    return q.behindTurn() && "collect".equals(q.request().queueMode());
  }

  private void start(Lane lane, TurnRequest t, List<TurnRequest> merged, Slots slots) {
    Turn turn = new Turn(t, merged, runs.get(t.runId()));
    lane.active = turn;
    slots.running++;
    long deadline = workspace.limits().turnTimeoutMs();
    turn.deadlineTimer = vertx.setTimer(deadline, x -> turn.signal.abort("timeout"));
    // the guard frees the lane even if the turn does not wind down after its deadline
    turn.guardTimer = vertx.setTimer(deadline + WIND_DOWN_MS, x -> {
      if (!turn.done.future().isComplete()) {
        LOG.error("turn {} in {} did not end {} ms after its deadline; freeing the lane", t.runId(),
            t.sessionKey(), WIND_DOWN_MS);
        publishLive(turn, SessionEvent.AGENT_END, new JsonObject().put("status", "timeout")
            .put("error", "turn did not end after its deadline"));
        turn.all().forEach(r -> finishRun(r, "timeout", "turn did not end after its deadline", null));
        turn.done.tryComplete();
      }
    });
    activity(t, "typing");
    runTurn(turn).onComplete(ar -> {
      if (ar.failed()) {
        LOG.error("turn {} in {} failed outside the agent", t.runId(), t.sessionKey(), ar.cause());
        if (!turn.run.finished()) {
          publishLive(turn, SessionEvent.ERROR, new JsonObject().put("kind", "unknown")
              .put("message", "the gateway could not store this turn"));
          publishLive(turn, SessionEvent.AGENT_END, new JsonObject().put("status", "error")
              .put("error", "the gateway could not store this turn"));
          turn.all().forEach(r -> finishRun(r, "error", "the gateway could not store this turn", null));
        }
      }
      turn.done.tryComplete();
    });
    turn.done.future().onComplete(x -> {
      activity(t, "idle");
      vertx.cancelTimer(turn.deadlineTimer);
      vertx.cancelTimer(turn.guardTimer);
      lane.active = null;
      slots.running--;
      // steer messages the turn never took run next, in the order they came; they were stored already
      List<TurnRequest> leftover = new ArrayList<>(turn.steering);
      for (int i = leftover.size() - 1; i >= 0; i--) {
        lane.queue.addFirst(new Queued(leftover.get(i).asResumed(), System.currentTimeMillis(), false, true));
      }
      pump(lane);
      for (Lane waiting : new ArrayList<>(slots.waiting)) {
        int cap = slots == background ? workspace.limits().maxBackgroundTurns() : workspace.limits().maxConcurrentTurns();
        if (slots.running >= cap) {
          break;
        }
        pump(waiting);
      }
    });
  }

  /**
   * Tells delivery that a turn answering a chat started or ended, so channels that can show
   * "typing…" do (webchat clients see the run's own events; background turns type to nobody).
   */
  private void activity(TurnRequest t, String state) {
    if (t.background() || "webchat".equals(t.replyTo().channel())) {
      return;
    }
    bus.send(DeliveryAddresses.ACTIVITY, new JsonObject().put("runId", t.runId()).put("target", t.replyTo().toJson())
        .put("state", state).put("ttlMs", workspace.limits().turnTimeoutMs() + WIND_DOWN_MS));
  }

  // ---- one turn ------------------------------------------------------------------------------

  private Future<Void> runTurn(Turn turn) {
    TurnRequest t = turn.request;
    AgentConfig agentConfig = workspace.agent(t.agentId());
    long startedAt = System.currentTimeMillis();
    turn.run.status = "running";
    turn.run.startedAt = startedAt;
    List<TurnRequest> all = turn.all();
    Set<String> runIds = all.stream().map(TurnRequest::runId).collect(Collectors.toCollection(LinkedHashSet::new));
    // only a message routed again after a restart, or steering left over, finds its user message stored
    Future<Set<String>> alreadyStored = all.stream().anyMatch(TurnRequest::resumed) ? storedUserMessages(runIds)
        : Future.succeededFuture(Set.of());
    return alreadyStored
        .compose(stored -> {
          List<SessionEvent.New> first = new ArrayList<>();
          for (TurnRequest r : all) {
            if (!stored.contains(r.runId())) {
              first.add(userMessage(r, true));
            }
          }
          first.add(new SessionEvent.New(SessionEvent.AGENT_START, t.runId(), new JsonObject()
              .put("agentId", t.agentId()).put("startedAt", startedAt)
              .put("runIds", new JsonArray(List.copyOf(runIds)))));
          return append(t.sessionId(), first);
        })
        .compose(stored -> {
          stored.forEach(e -> publish(turn, e));
          if (turn.signal.aborted()) {
            return Future.failedFuture(new AbortSignal.Aborted(turn.signal.reason()));
          }
          String text = all.size() == 1 ? t.text()
              : all.stream().map(TurnRequest::text).collect(Collectors.joining("\n\n"));
          return agent.run(new AgentRunner.Turn(agentConfig, toolContext(t), runIds, text,
                  workspace.session().historyLimit(), () -> takeSteering(turn),
                  workspace.session().unmentionedContext()),
              new AgentTurnEvents(t.runId(), x -> onText(turn, x), list -> storeAndPublish(turn, list),
                  () -> turn.done.future().isComplete()),
              turn.signal);
        })
        .transform(ar -> turn.done.future().isComplete()
            ? Future.succeededFuture() // the guard already gave up on this turn
            : ar.succeeded() ? completed(turn, ar.result(), startedAt) : ended(turn, ar.cause(), startedAt));
  }

  /** Hands the agent the steering messages that came so far; they become part of this turn. */
  private List<TurnListener.Steering> takeSteering(Turn turn) {
    List<TurnListener.Steering> out = new ArrayList<>();
    while (!turn.steering.isEmpty()) {
      TurnRequest s = turn.steering.pollFirst();
      turn.steered.add(s);
      out.add(new TurnListener.Steering(s.runId(), s.text()));
    }
    return out;
  }

  /** The turn's immutable facts, as its tools see them. */
  private ToolContext toolContext(TurnRequest t) {
    JsonObject sender = t.sender();
    return new ToolContext(workspace.id(), t.agentId(), t.sessionKey(), t.sessionId(), t.runId(),
        sender.getString("id"), sender.getString("name"), sender.getBoolean("owner", false),
        t.replyTo().channel(), t.replyTo().accountId(), t.replyTo().peerKind(), t.replyTo().peerId(),
        t.replyTo().threadId());
  }

  /** Stores a turn's step (tool call, result, compaction) and publishes it live. */
  private Future<Void> storeAndPublish(Turn turn, List<SessionEvent.New> list) {
    return append(turn.request.sessionId(), list).map(stored -> {
      stored.forEach(e -> publish(turn, e));
      return null;
    });
  }

  private Future<Set<String>> storedUserMessages(Set<String> runIds) {
    List<Future<List<SessionEvent>>> reads = runIds.stream().map(events::ofRun).toList();
    return Future.all(reads).map(x -> {
      Set<String> out = new LinkedHashSet<>();
      reads.forEach(f -> f.result().stream().filter(e -> e.type().equals(SessionEvent.USER_MESSAGE))
          .forEach(e -> out.add(e.runId())));
      return out;
    });
  }

  private static SessionEvent.New userMessage(TurnRequest r, boolean triggered) {
    JsonObject p = new JsonObject().put("text", r.text()).put("sender", r.sender())
        .put("origin", r.replyTo().toJson()).put("receivedAt", r.receivedAt()).put("triggered", triggered);
    if (r.rawText() != null && !r.rawText().equals(r.text())) {
      p.put("rawText", r.rawText());
    }
    if (r.command() != null) {
      p.put("command", true);
    }
    return new SessionEvent.New(SessionEvent.USER_MESSAGE, r.runId(), p);
  }

  /** Stores events in their own transaction and keeps the history cache current. */
  private Future<List<SessionEvent>> append(String sessionId, List<SessionEvent.New> list) {
    return log.append(sessionId, list);
  }

  /**
   * The agent's answer so far (whole); it shrinks when a failed attempt's text is taken back. It
   * goes out as a delta at most every {@code session.streamIntervalMs}: a model that streams a piece
   * per token would otherwise cost every client, the bus and every preview one event per token.
   */
  private void onText(Turn turn, String text) {
    if (turn.signal.aborted() || turn.done.future().isComplete()) {
      return;
    }
    turn.raw = text;
    String visible = SilenceMarkers.visiblePrefix(turn.raw);
    if (visible.equals(turn.visible)) {
      return;
    }
    turn.visible = visible;
    turn.run.text = visible;
    if (turn.deltaTimer != -1) {
      return; // the delta already due carries this text too
    }
    long now = System.currentTimeMillis();
    long due = turn.publishedAt + workspace.session().streamIntervalMs();
    if (now >= due) {
      publishDelta(turn, now);
    } else {
      turn.deltaTimer = vertx.setTimer(due - now, x -> {
        turn.deltaTimer = -1;
        publishDelta(turn, System.currentTimeMillis());
      });
    }
  }

  private void publishDelta(Turn turn, long now) {
    String visible = turn.visible;
    if (turn.signal.aborted() || turn.done.future().isComplete() || visible.equals(turn.published)) {
      return;
    }
    boolean extendsPrevious = visible.startsWith(turn.published);
    String delta = extendsPrevious ? visible.substring(turn.published.length()) : visible;
    turn.published = visible;
    turn.publishedAt = now;
    JsonObject payload = new JsonObject().put("delta", delta).put("text", visible);
    if (!extendsPrevious) {
      payload.put("replace", true);
    }
    publishLive(turn, SessionEvent.TEXT_DELTA, payload);
    if (!"webchat".equals(turn.request.replyTo().channel()) && !visible.isBlank()) {
      // channels that edit a preview show the reply while it streams (delivery throttles and decides)
      bus.send(DeliveryAddresses.PREVIEW, new JsonObject().put("runId", turn.request.runId())
          .put("target", turn.request.replyTo().toJson()).put("text", visible));
    }
  }

  /** The model answered: store the reply and what is owed to whom, in one transaction. */
  private Future<Void> completed(Turn turn, TurnOutcome reply, long startedAt) {
    TurnRequest t = turn.request;
    if (turn.deltaTimer != -1) {
      // the text held back goes out first, so the deltas still add up to the reply
      vertx.cancelTimer(turn.deltaTimer);
      turn.deltaTimer = -1;
      publishDelta(turn, System.currentTimeMillis());
    }
    String text = SilenceMarkers.strip(reply.text());
    String delivery = deliveryKind(t.replyTo(), text);
    long endedAt = System.currentTimeMillis();
    JsonObject finalPayload = new JsonObject().put("text", text).put("stopReason", reply.stopReason())
        .put("usage", reply.usage().toJson()).put("provider", reply.provider()).put("model", reply.model())
        .put("delivery", delivery);
    if (!text.equals(reply.text())) {
      finalPayload.put("rawText", reply.text());
    }
    JsonObject endPayload = new JsonObject().put("status", "ok").put("startedAt", startedAt)
        .put("endedAt", endedAt).put("text", text).put("stopReason", reply.stopReason())
        .put("usage", reply.usage().toJson()).put("costUsd", reply.costUsd()).put("steps", reply.steps())
        .put("toolCalls", reply.toolCalls()).put("provider", reply.provider()).put("model", reply.model())
        .put("delivery", delivery);
    if (!turn.merged.isEmpty() || !turn.steered.isEmpty()) {
      JsonArray folded = new JsonArray();
      turn.merged.forEach(r -> folded.add(r.runId()));
      turn.steered.forEach(r -> folded.add(r.runId()));
      endPayload.put("folded", folded);
    }
    Obligation obligation = obligation(t, delivery, text, new JsonObject().put("stopReason", reply.stopReason())
        .put("usage", reply.usage().toJson()).put("provider", reply.provider()).put("model", reply.model())
        .put("timestamp", endedAt));
    List<TurnRequest> answered = new ArrayList<>(turn.all());
    answered.addAll(turn.steered);
    return log.transaction(t.sessionId(), c -> log.append(c, t.sessionId(), List.of(
                new SessionEvent.New(SessionEvent.TEXT_FINAL, t.runId(), finalPayload),
                new SessionEvent.New(SessionEvent.AGENT_END, t.runId(), endPayload)))
            .compose(stored -> (obligation == null ? Future.<Void>succeededFuture() : outbox.insert(c, obligation))
                .compose(v -> finishInbounds(c, answered))
                .map(v -> stored)))
        .map(stored -> {
          log.committed(t.sessionId(), stored);
          turn.visible = text;
          turn.run.text = text;
          stored.forEach(e -> publish(turn, e));
          finishRun(t, "ok", null, reply.stopReason());
          // the runs answered together with this one end with it, without a reply of their own
          answered.stream().skip(1).forEach(r -> {
            publishFolded(r, t.runId());
            finishRun(r, "ok", null, "folded");
          });
          dispatch(obligation);
          return null;
        });
  }

  /** The turn ended without an answer: aborted, timed out or failed. */
  private Future<Void> ended(Turn turn, Throwable cause, long startedAt) {
    TurnRequest t = turn.request;
    String reason = turn.signal.reason();
    // what the agent classified (and what the turn used before it ended), when the agent ended it
    TurnFailure failure = cause instanceof TurnFailure f ? f : null;
    String status;
    String kind;
    String message;
    JsonObject detail = null;
    if ("timeout".equals(reason)) {
      status = "timeout";
      kind = "timeout";
      message = "the turn exceeded its deadline of " + workspace.limits().turnTimeoutMs() / 1000 + " s";
    } else if (reason != null) {
      status = "aborted";
      kind = null;
      message = "aborted (" + reason + ")";
    } else if (failure != null) {
      status = "error";
      kind = failure.kind().protocolKind();
      message = failure.getMessage();
      detail = failure.detail();
      LOG.warn("turn {} in {} failed ({}): {}", t.runId(), t.sessionKey(), failure.kind().id(), message);
    } else {
      status = "error";
      kind = "unknown";
      message = "the agent failed: " + cause.getMessage();
      LOG.warn("turn {} in {} failed: {}", t.runId(), t.sessionKey(), cause.toString());
    }
    List<SessionEvent.New> list = new ArrayList<>();
    if (kind != null) {
      list.add(new SessionEvent.New(SessionEvent.ERROR, t.runId(), new JsonObject().put("kind", kind)
          .put("message", message).put("reason", failure == null ? kind : failure.kind().id()).put("detail", detail)));
    }
    JsonObject end = new JsonObject().put("status", status).put("startedAt", startedAt)
        .put("endedAt", System.currentTimeMillis()).put("text", turn.visible).put("reason", reason)
        .put("error", kind == null ? null : message).put("errorKind", kind).put("errorDetail", detail);
    if (failure != null) {
      end.put("usage", failure.usage().toJson()).put("costUsd", failure.costUsd()).put("steps", failure.steps());
    }
    list.add(new SessionEvent.New(SessionEvent.AGENT_END, t.runId(), end));
    // A turn cut short by shutdown stays queued: the next start runs it again.
    boolean resumeLater = "shutdown".equals(reason);
    List<TurnRequest> ended = new ArrayList<>(turn.all());
    ended.addAll(turn.steered);
    // channel users see a short notice (webchat clients get the chat error event instead)
    Obligation notice = kind == null || "webchat".equals(t.replyTo().channel()) ? null
        : obligation(t, "channel", FAILURE_NOTICES.get(kind), new JsonObject().put("stopReason", "error")
            .put("notice", kind).put("timestamp", System.currentTimeMillis()));
    return log.transaction(t.sessionId(), c -> log.append(c, t.sessionId(), list)
            .compose(stored -> (resumeLater ? Future.<Void>succeededFuture() : finishInbounds(c, ended))
                .compose(v -> notice == null ? Future.<Void>succeededFuture() : outbox.insert(c, notice))
                .map(v -> stored)))
        .map(stored -> {
          log.committed(t.sessionId(), stored);
          if (!"webchat".equals(t.replyTo().channel()) && !turn.visible.isBlank()) {
            bus.send(DeliveryAddresses.PREVIEW, new JsonObject().put("runId", t.runId()).put("target", t.replyTo().toJson())
                .put("end", "interrupt".equals(reason) ? "interrupt" : "aborted"));
          }
          dispatch(notice);
          stored.forEach(e -> publish(turn, e));
          ended.forEach(r -> finishRun(r, status, kind == null ? null : message, reason));
          ended.stream().skip(1).forEach(r -> publishFolded(r, t.runId()));
          return null;
        });
  }

  private Future<Void> finishInbounds(SqlClient c, List<TurnRequest> requests) {
    Future<Void> chain = Future.succeededFuture();
    for (TurnRequest r : requests) {
      chain = chain.compose(v -> finishInbound(c, r, InboundRecord.DONE));
    }
    return chain;
  }

  /**
   * Finishes the inbound message a request came from, inside the caller's transaction. A broadcast
   * agent finishes only its own share: the message is done when every agent's share is.
   */
  private Future<Void> finishInbound(SqlClient c, TurnRequest r, String status) {
    if (r.inboundId() == null) {
      return Future.succeededFuture();
    }
    return r.shared() ? inbound.finishShare(c, r.inboundId(), r.runId(), status, r.sessionKey(), r.sessionId())
        : inbound.finish(c, r.inboundId(), status, r.sessionKey(), r.sessionId());
  }

  /**
   * Webchat hears the end of every run through delivery (even a silent one, as a final without a
   * message); other channels are owed something only when there is text.
   */
  private static String deliveryKind(ReplyTarget to, String text) {
    return "webchat".equals(to.channel()) ? "webchat" : text.isEmpty() ? "none" : "channel";
  }

  private static Obligation obligation(TurnRequest t, String delivery, String text, JsonObject extra) {
    if (delivery.equals("none")) {
      return null;
    }
    JsonObject payload = new JsonObject().put("text", text).put("sessionKey", t.sessionKey()).put("runId", t.runId())
        .put("agentId", t.agentId()).mergeIn(extra);
    // webchat's sockets live and die with this process: nothing about them can be owed after a restart
    return delivery.equals("webchat")
        ? Obligation.live(t.runId(), t.sessionId(), t.replyTo().channel(), t.replyTo().accountId(), t.replyTo().toJson(),
            payload)
        : Obligation.create(t.runId(), t.sessionId(), t.replyTo().channel(), t.replyTo().accountId(),
            t.replyTo().toJson(), payload);
  }

  private void dispatch(Obligation o) {
    if (o != null) {
      bus.send(DeliveryAddresses.DISPATCH, new JsonObject().put("obligationId", o.id()).put("obligation", o.toJson()));
    }
  }

  private void finishRun(TurnRequest r, String status, String error, String stopReason) {
    RunRegistry.Run run = runs.get(r.runId());
    if (run != null && !run.finished()) {
      runs.finish(run, status, error, stopReason);
    }
  }

  private void publish(Turn turn, SessionEvent e) {
    bus.publish(LaneAddresses.EVENTS, new LiveEvent(turn.request.sessionKey(), turn.request.agentId(),
        turn.runSeq++, e).toJson());
  }

  /** A live-only event (not stored): deltas, and notices when storing failed. */
  private void publishLive(Turn turn, String type, JsonObject payload) {
    publish(turn, new SessionEvent(turn.request.sessionId(), 0, type, turn.request.runId(), payload, Instant.now()));
  }

  private void publishAlone(TurnRequest r, SessionEvent e) {
    bus.publish(LaneAddresses.EVENTS, new LiveEvent(r.sessionKey(), r.agentId(), 0, e).toJson());
  }

  /** A run answered inside another run's turn ends, with no reply of its own. */
  private void publishFolded(TurnRequest r, String into) {
    publishAlone(r, new SessionEvent(r.sessionId(), 0, SessionEvent.AGENT_END, r.runId(), new JsonObject()
        .put("status", "ok").put("foldedInto", into).put("text", "").put("delivery", "none"), Instant.now()));
  }

  // ---- messages without a turn: context, steering, notes --------------------------------------

  private Future<Void> appendOnly(TurnRequest t) {
    return log.transaction(t.sessionId(), c -> log.append(c, t.sessionId(), List.of(userMessage(t, false)))
            .compose(stored -> finishInbound(c, t, InboundRecord.DONE).map(v -> stored)))
        .map(stored -> {
          log.committed(t.sessionId(), stored);
          stored.forEach(e -> publishAlone(t, e));
          return null;
        });
  }

  private Future<Void> steer(Lane lane, TurnRequest t) {
    return append(t.sessionId(), List.of(userMessage(t, true))).map(stored -> {
      stored.forEach(e -> publishAlone(t, e));
      Turn active = lane.active;
      if (active != null && !active.done.future().isComplete() && active.request.sessionId().equals(t.sessionId())) {
        active.steering.addLast(t);
      } else {
        lane.queue.addLast(new Queued(t.asResumed(), System.currentTimeMillis(), false));
        pump(lane);
      }
      return null;
    });
  }

  /**
   * Stores an assistant note in a session (a command's confirmation, an operator's injected note):
   * with the user's command message before it when there is one, and, when the note answers a
   * message, its delivery obligation and the inbound's completion in the same transaction.
   */
  private Future<List<SessionEvent>> note(TurnRequest answering, String sessionId, String text, JsonObject extra,
      boolean storeCommand) {
    List<SessionEvent.New> list = new ArrayList<>();
    if (storeCommand) {
      list.add(userMessage(answering, true));
    }
    JsonObject payload = new JsonObject().put("text", text).mergeIn(extra);
    list.add(new SessionEvent.New(SessionEvent.ASSISTANT_NOTE, answering.runId(), payload));
    TurnRequest target = answering.withSession(sessionId);
    Obligation obligation = obligation(target, deliveryKind(target.replyTo(), text), text,
        new JsonObject().put("stopReason", "stop").put("timestamp", System.currentTimeMillis()));
    return log.transaction(sessionId, c -> log.append(c, sessionId, list)
            .compose(stored -> (obligation == null ? Future.<Void>succeededFuture() : outbox.insert(c, obligation))
                .compose(v -> finishInbound(c, answering.withSession(sessionId), InboundRecord.DONE))
                .map(v -> stored)))
        .map(stored -> {
          log.committed(sessionId, stored);
          stored.forEach(e -> publishAlone(target, e));
          dispatch(obligation);
          return stored;
        });
  }

  private void onDelete(Message<JsonObject> msg) {
    String key = msg.body().getString("sessionKey", "");
    Lane lane = lanes.get(key);
    if (lane != null && (lane.active != null || !lane.queue.isEmpty())) {
      msg.fail(BusFailure.CONFLICT, "the session has a turn running or waiting; stop it first");
      return;
    }
    sessions.head(key).compose(session -> {
      if (session == null) {
        return Future.failedFuture(BusFailure.notFound("session not found"));
      }
      return sessions.deleteDirect(session.id()).compose(deleted -> {
        if (!deleted) {
          return Future.failedFuture(new BusFailure.Coded(BusFailure.CONFLICT,
              "only a direct session that is not running can be deleted; group sessions are kept"));
        }
        sessionIds.remove(key);
        metadataKnown.remove(key);
        log.forget(session.id());
        return Future.succeededFuture(new JsonObject().put("sessionId", session.id()));
      });
    }).onSuccess(msg::reply).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }

  /** {@code {sessionKey, text, label?}} → {@code {messageId, seq, sessionId}}: an operator's note, no turn. */
  private void onNote(Message<JsonObject> msg) {
    JsonObject b = msg.body();
    String key = b.getString("sessionKey");
    String text = b.getString("text", "");
    if (key == null || text.isBlank()) {
      msg.fail(BusFailure.BAD_REQUEST, "sessionKey and text are required");
      return;
    }
    sessions.head(key).compose(session -> {
      if (session == null) {
        return Future.failedFuture(BusFailure.notFound("session not found"));
      }
      String messageId = dev.switchboard.store.Ids.next();
      JsonObject payload = new JsonObject().put("text", text).put("messageId", messageId).put("label", b.getString("label"));
      return append(session.id(), List.of(new SessionEvent.New(SessionEvent.ASSISTANT_NOTE, null, payload)))
          .map(stored -> {
            stored.forEach(e -> bus.publish(LaneAddresses.EVENTS,
                new LiveEvent(key, session.agentId(), 0, e).toJson()));
            return new JsonObject().put("messageId", messageId).put("seq", stored.get(0).seq())
                .put("sessionId", session.id()).put("message", stored.get(0).toJson());
          });
    }).onSuccess(msg::reply).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }

  // ---- commands: they never wait behind a running turn ---------------------------------------

  private Future<JsonObject> command(TurnRequest t) {
    return switch (t.command()) {
      case "stop" -> stopCommand(t);
      case "new", "reset" -> resetCommand(t);
      case "sethome" -> setHome(t);
      case "status" -> note(t, t.sessionId(), statusText(t.sessionKey()), new JsonObject().put("command", "status"), true)
          .map(x -> {
            finishRun(t, "ok", null, "command");
            return accepted(t, t.sessionId());
          });
      default -> Future.failedFuture(BusFailure.badRequest("unknown command /" + t.command()));
    };
  }

  private Future<JsonObject> stopCommand(TurnRequest t) {
    Lane lane = lanes.get(t.sessionKey());
    boolean stopped = lane != null && lane.active != null && !lane.active.signal.aborted();
    Future<Void> ended = Future.succeededFuture();
    if (stopped) {
      Turn active = lane.active;
      active.signal.abort("user");
      // the confirmation comes after the stopped turn's end, never before
      ended = active.done.future();
    }
    return ended.compose(v -> note(t, t.sessionId(), stopped ? "Stopped." : "Nothing is running.",
            new JsonObject().put("command", "stop"), true))
        .map(x -> {
          finishRun(t, "ok", null, "command");
          return accepted(t, t.sessionId());
        });
  }

  /**
   * {@code /new} and {@code /reset}: the key stays, a fresh session takes its place. The old
   * session is checkpointed once by the memory engine, made inactive and stays listed and
   * searchable. Text after the command is the new session's first message.
   */
  private Future<JsonObject> resetCommand(TurnRequest t) {
    // the fresh session keeps where the conversation comes from; what started it is this command
    return sessions.find(t.sessionId()).compose(old -> sessions.roll(t.sessionKey(), t.agentId(),
            (old == null ? t.source() : old.source()).copy().put("triggerId", t.runId()),
            old == null ? new JsonObject() : old.metadata())
        .onSuccess(fresh -> {
          // the key points at the fresh session from now on
          sessionIds.put(t.sessionKey(), fresh.id());
          metadataKnown.put(t.sessionKey(), fresh.metadata());
        })
        .compose(fresh -> append(fresh.id(), List.of(new SessionEvent.New(SessionEvent.SESSION_START, t.runId(),
                new JsonObject().put("reason", t.command()).put("previousSessionId", t.sessionId()))))
            .compose(stored -> {
              stored.forEach(e -> publishAlone(t.withSession(fresh.id()), e));
              return sessions.setStatus(t.sessionId(), Session.INACTIVE);
            })
            .onSuccess(v -> checkpoint(t))
            .compose(v -> {
              if (!t.text().isBlank()) {
                // the rest of the message is the new session's first turn
                TurnRequest first = new TurnRequest(t.runId(), t.inboundId(), t.sessionKey(), fresh.id(), t.agentId(),
                    t.text(), t.text(), t.sender(), t.replyTo(), "followup", true, t.background(), null, t.receivedAt(),
                    t.source(), t.metadata(), false, t.shared());
                runs.forget(t.runId());
                runs.register(first);
                Lane lane = lanes.computeIfAbsent(t.sessionKey(), Lane::new);
                lane.queue.addLast(new Queued(first, System.currentTimeMillis(), false));
                pump(lane);
                return Future.succeededFuture(accepted(t, fresh.id()));
              }
              return note(t, fresh.id(), "New session started.", new JsonObject().put("command", t.command()), false)
                  .map(x -> {
                    finishRun(t, "ok", null, "command");
                    return accepted(t, fresh.id());
                  });
            })));
  }

  /** {@code /sethome}: an owner makes this chat (and thread) the account's home chat for automation. */
  private Future<JsonObject> setHome(TurnRequest t) {
    ReplyTarget here = t.replyTo();
    Future<String> answer = !t.sender().getBoolean("owner", false)
        ? Future.succeededFuture("Only an owner can set the home chat.")
        : homes.set(here.channel(), here.accountId(), new ReplyTarget(here.channel(), here.accountId(), here.peerKind(),
                here.peerId(), here.threadId(), null).toJson(), t.sender().getString("person"))
            .map(x -> "This chat is now the home chat of " + here.channel() + "/" + here.accountId() + ".");
    return answer.compose(text -> note(t, t.sessionId(), text, new JsonObject().put("command", "sethome"), true))
        .map(x -> {
          finishRun(t, "ok", null, "command");
          return accepted(t, t.sessionId());
        });
  }

  /** A message delivered to an explicit target or home chat is stored in that chat's session when mirroring is on. */
  private void onDelivered(Message<JsonObject> msg) {
    String key = msg.body().getString("mirrorSessionKey");
    String text = msg.body().getString("text", "");
    if (key == null || text.isBlank()) {
      return;
    }
    String agentId = key.split(":", 3).length == 3 ? key.split(":", 3)[1] : workspace.defaultAgent().id();
    if (workspace.agent(agentId) == null) {
      LOG.warn("not mirroring delivery {}: no agent {} for session key {}", msg.body().getString("obligationId"), agentId, key);
      return;
    }
    // a chat that first hears from the agent this way: its session's source is that chat
    JsonObject target = msg.body().getJsonObject("target", new JsonObject());
    JsonObject source = new JsonObject().put("kind", "channel").put("interactive", true)
        .put("platform", msg.body().getString("channel")).put("triggerId", msg.body().getString("runId"))
        .put("type", "direct".equals(target.getString("peerKind", "direct")) ? "direct" : "group");
    sessionOf(key, agentId, source, new JsonObject())
        .compose(sessionId -> append(sessionId, List.of(new SessionEvent.New(SessionEvent.ASSISTANT_NOTE,
                msg.body().getString("runId"), new JsonObject().put("text", text).put("mirrored", true)
                .put("obligationId", msg.body().getString("obligationId")))))
            .onSuccess(stored -> stored.forEach(e -> bus.publish(LaneAddresses.EVENTS,
                new LiveEvent(key, agentId, 0, e).toJson()))))
        .onFailure(err -> LOG.warn("mirroring delivery {} into {} failed: {}", msg.body().getString("obligationId"), key,
            err.toString()));
  }

  private void checkpoint(TurnRequest t) {
    bus.request(MemoryAddresses.CHECKPOINT, new JsonObject().put("agentId", t.agentId()).put("sessionId", t.sessionId())
            .put("sessionKey", t.sessionKey()), MEMORY_TIMEOUT_MS)
        .onFailure(err -> LOG.warn("checkpoint of session {} failed: {}", t.sessionId(), err.getMessage()));
  }

  private static JsonObject accepted(TurnRequest t, String sessionId) {
    return new JsonObject().put("runId", t.runId()).put("status", "started").put("sessionId", sessionId);
  }

  private String statusText(String sessionKey) {
    Lane lane = lanes.get(sessionKey);
    if (lane == null || (lane.active == null && lane.queue.isEmpty())) {
      return "Idle. Nothing is running or waiting in this session.";
    }
    StringBuilder sb = new StringBuilder();
    long now = System.currentTimeMillis();
    if (lane.active != null) {
      sb.append("Running a turn for ").append((now - lane.active.run.startedAt) / 1000).append(" s.");
    } else {
      sb.append("Not running.");
    }
    if (!lane.queue.isEmpty()) {
      sb.append(' ').append(lane.queue.size()).append(lane.queue.size() == 1 ? " message waits" : " messages wait");
      sb.append(lane.active != null ? " for it to end." : " for a free slot (workspace limit reached).");
    }
    return sb.toString();
  }

  // ---- abort, wait, status -------------------------------------------------------------------

  private void onAbort(Message<JsonObject> msg) {
    String sessionKey = msg.body().getString("sessionKey");
    String runId = msg.body().getString("runId");
    JsonArray aborted = new JsonArray();
    try {
      for (Lane lane : new ArrayList<>(lanes.values())) {
        if (sessionKey != null && !lane.sessionKey.equals(sessionKey)) {
          continue;
        }
        // read once: aborting may end the turn synchronously and clear lane.active
        Turn active = lane.active;
        if (active != null && (runId == null || active.all().stream().anyMatch(r -> r.runId().equals(runId)))
            && !active.signal.aborted()) {
          aborted.add(active.request.runId());
          active.signal.abort("user");
        }
        if (runId != null) {
          boolean removed = false;
          Iterator<Queued> it = lane.queue.iterator();
          while (it.hasNext()) {
            TurnRequest t = it.next().request();
            if (t.runId().equals(runId)) {
              it.remove();
              dropQueued(t, "aborted before it started");
              aborted.add(runId);
              removed = true;
            }
          }
          if (removed) {
            pump(lane);
          }
        }
      }
    } catch (RuntimeException e) {
      // what was aborted stays aborted; the caller still gets its answer
      LOG.error("abort of {} {} failed part-way", sessionKey, runId, e);
    }
    msg.reply(new JsonObject().put("aborted", !aborted.isEmpty()).put("runIds", aborted));
  }

  /**
   * A message a full queue refuses ({@code session.queueDrop: reject-new}). Its inbound row is
   * finished as {@code refused}, so a restart never answers it late, while a copy the platform sends
   * again is routed afresh (its run is forgotten here for the same reason). The sender sees the
   * refusal: the enqueue is answered with status {@code refused} and a {@code reason} (webchat turns
   * that into the error of its request), channel users get a notice, once per run of refused messages
   * so a burst does not answer every one of them.
   */
  private void refuse(Lane lane, TurnRequest t, Message<JsonObject> msg) {
    runs.forget(t.runId());
    String why = "session queue is full (" + lane.queue.size() + " waiting)";
    boolean tell = !lane.refusalTold && !"webchat".equals(t.replyTo().channel());
    lane.refusalTold |= tell;
    Obligation notice = !tell ? null : obligation(t, "channel", QUEUE_FULL_NOTICE, new JsonObject()
        .put("stopReason", "error").put("notice", "queue_full").put("timestamp", System.currentTimeMillis()));
    log.transaction(t.sessionId(), c -> finishInbound(c, t, InboundRecord.REFUSED)
            .compose(v -> notice == null ? Future.<Void>succeededFuture() : outbox.insert(c, notice)))
        .onComplete(ar -> {
          if (ar.failed()) {
            LOG.warn("could not record the refusal of inbound {}: {}", t.inboundId(), ar.cause().toString());
          } else {
            dispatch(notice);
          }
          LOG.info("workspace {}: refused run {} in {}: {}", workspace.id(), t.runId(), t.sessionKey(), why);
          // a decided outcome, not a failure: nobody should retry it behind the sender's back
          msg.reply(new JsonObject().put("status", InboundRecord.REFUSED).put("reason", why)
              .put("sessionId", t.sessionId()));
        });
  }

  /** A queued message that never runs (aborted before its turn, or dropped from a full queue). */
  private void dropQueued(TurnRequest t, String why) {
    log.transaction(t.sessionId(), c -> finishInbound(c, t, InboundRecord.DONE))
        .onFailure(err -> LOG.warn("could not mark inbound {} done: {}", t.inboundId(), err.toString()));
    publishAlone(t, new SessionEvent(t.sessionId(), 0, SessionEvent.AGENT_END, t.runId(), new JsonObject()
        .put("status", "aborted").put("reason", why).put("text", ""), Instant.now()));
    finishRun(t, "aborted", null, why);
  }

  private void onWait(Message<JsonObject> msg) {
    String runId = msg.body().getString("runId");
    long timeoutMs = Math.min(Math.max(msg.body().getLong("timeoutMs", 30_000L), 0), 3_600_000);
    RunRegistry.Run run = runId == null ? null : runs.get(runId);
    if (run != null) {
      runs.await(vertx, run, timeoutMs).onSuccess(msg::reply);
      return;
    }
    // Not in memory (finished long ago, or before a restart): the log knows how it ended.
    events.ofRun(runId == null ? "" : runId).onComplete(ar -> {
      if (ar.failed()) {
        BusFailure.reply(msg, ar.cause(), LOG);
        return;
      }
      SessionEvent end = null;
      SessionEvent start = null;
      for (SessionEvent e : ar.result()) {
        if (e.type().equals(SessionEvent.AGENT_END)) {
          end = e;
        } else if (e.type().equals(SessionEvent.AGENT_START)) {
          start = e;
        }
      }
      if (end == null) {
        msg.reply(new JsonObject().put("runId", runId).put("status", "timeout"));
        return;
      }
      JsonObject p = end.payload();
      msg.reply(new JsonObject().put("runId", runId).put("status", p.getString("status"))
          .put("startedAt", start == null ? p.getLong("startedAt") : start.payload().getLong("startedAt"))
          .put("endedAt", p.getLong("endedAt")).put("text", p.getString("text", ""))
          .put("error", p.getString("error")).put("stopReason", p.getString("stopReason")));
    });
  }

  /**
   * {@code working_memory_update} from a turn's agent: the session's working memory, replaced (an
   * empty text clears it). The lane writes it, so the next turn's context shows it at once.
   */
  private void onWorkingMemory(Message<JsonObject> msg) {
    String sessionId = msg.body().getString("sessionId");
    if (sessionId == null || !(msg.body().getValue("text") instanceof String text)) {
      msg.fail(BusFailure.BAD_REQUEST, "sessionId and text are required");
      return;
    }
    if (text.length() > AgentAddresses.WORKING_MEMORY_MAX_CHARS) {
      msg.fail(BusFailure.BAD_REQUEST, "working memory is limited to " + AgentAddresses.WORKING_MEMORY_MAX_CHARS
          + " characters, got " + text.length());
      return;
    }
    String value = text.isBlank() ? null : text.strip();
    sessions.setWorkingMemory(sessionId, value).onComplete(ar -> {
      if (ar.failed()) {
        BusFailure.reply(msg, ar.cause(), LOG);
      } else if (!ar.result()) {
        msg.fail(BusFailure.NOT_FOUND, "no session " + sessionId);
      } else {
        history.workingMemoryChanged(sessionId, value);
        msg.reply(new JsonObject().put("sessionId", sessionId).put("chars", value == null ? 0 : value.length()));
      }
    });
  }

  private void onRun(Message<JsonObject> msg) {
    RunRegistry.Run run = runs.get(msg.body().getString("runId", ""));
    if (run == null) {
      msg.fail(BusFailure.NOT_FOUND, "unknown run");
    } else {
      msg.reply(run.toJson());
    }
  }

  /** What runs and what waits, per session, and why it waits. {@code onlyKey} narrows to one session. */
  private JsonObject status(String onlyKey) {
    JsonArray list = new JsonArray();
    long now = System.currentTimeMillis();
    for (Lane lane : lanes.values()) {
      if (onlyKey != null && !lane.sessionKey.equals(onlyKey)) {
        continue;
      }
      JsonObject l = new JsonObject().put("sessionKey", lane.sessionKey);
      if (lane.active != null) {
        l.put("running", new JsonObject().put("runId", lane.active.request.runId())
            .put("startedAt", lane.active.run.startedAt).put("elapsedMs", now - lane.active.run.startedAt)
            .put("background", lane.active.isBackground).put("steering", lane.active.steering.size()));
      }
      JsonArray queued = new JsonArray();
      lane.queue.forEach(q -> queued.add(new JsonObject().put("runId", q.request().runId())
          .put("queueMode", q.request().queueMode()).put("waitingMs", now - q.at())));
      l.put("queued", queued);
      if (interactive.waiting.contains(lane)) {
        l.put("waitingReason", "workspace limit of " + workspace.limits().maxConcurrentTurns()
            + " concurrent turns reached");
      } else if (background.waiting.contains(lane)) {
        l.put("waitingReason", "workspace limit of " + workspace.limits().maxBackgroundTurns()
            + " concurrent background turns reached");
      } else if (lane.collectTimer >= 0) {
        l.put("waitingReason", "collecting messages for " + workspace.session().collectDebounceMs() + " ms");
      } else if (lane.active != null && !lane.queue.isEmpty()) {
        l.put("waitingReason", "a turn is running in this session");
      }
      list.add(l);
    }
    return new JsonObject().put("running", interactive.running).put("backgroundRunning", background.running)
        .put("maxConcurrentTurns", workspace.limits().maxConcurrentTurns())
        .put("maxBackgroundTurns", workspace.limits().maxBackgroundTurns())
        .put("cachedSessions", history.size()).put("lanes", list);
  }
}
