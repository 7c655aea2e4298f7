package dev.switchboard.agent;

import dev.switchboard.agent.tools.Tool;
import dev.switchboard.agent.tools.ToolError;
import dev.switchboard.agent.tools.ToolRegistry;
import dev.switchboard.memory.MemoryAddresses;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.ModelConfig;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One turn's loop: assemble the context, call the model, run the tools it asks for and feed their
 * results back, until it answers without tools or a bound stops it (step limit, loop detector,
 * consecutive tool failures, abort). A context overflow triggers one compaction by the memory engine
 * and one retry. Runs on one event-loop context; all state here belongs to this turn only.
 */
final class AgentLoop {
  private static final Logger LOG = LoggerFactory.getLogger(AgentLoop.class);
  /** What the model sees of one tool result at most. */
  static final int MODEL_RESULT_CHARS = 16_000;
  /** What the stored {@code tool_result} event keeps of it. */
  static final int EVENT_RESULT_CHARS = 4_000;
  static final long COMPACT_TIMEOUT_MS = 30_000;
  static final String STEP_SEPARATOR = "\n\n";

  private final Vertx vertx;
  private final ModelFailover failover;
  private final ContextAssembler assembler;
  private final ToolRegistry tools;
  private final WorkspaceBus bus;
  private final AgentRunner.Turn turn;
  private final AgentConfig agent;
  private final TurnListener listener;
  private final AbortSignal signal;

  private final List<ToolSpec> specs;
  /** Runs whose stored messages the turn carries itself (its own runs, folded steering messages). */
  private final Set<String> ownRuns = new LinkedHashSet<>();
  /** The turn's own messages: the user message, folded messages, assistant steps and tool results. */
  private final List<ChatMessage> turnMessages = new ArrayList<>();
  private final Map<String, Integer> identicalCalls = new HashMap<>();
  private String system;
  private List<ChatMessage> history = List.of();
  private ContextAssembler.Compaction compaction = ContextAssembler.Compaction.NONE;
  private boolean compacted;
  private int steps;
  private int toolCalls;
  private int consecutiveToolFailures;
  private Usage usage = Usage.NONE;
  private Double costUsd = 0.0;
  /** Text of the finished steps, joined. */
  private String committed = "";
  /** Text streamed by the model call in progress. */
  private String attemptText = "";

  /** A bound that stopped the turn. */
  private static final class Stop extends RuntimeException {
    final FailureKind kind;

    Stop(FailureKind kind, String message) {
      super(message, null, false, false);
      this.kind = kind;
    }
  }

  AgentLoop(Vertx vertx, ModelFailover failover, ContextAssembler assembler, ToolRegistry tools, WorkspaceBus bus,
      AgentRunner.Turn turn, TurnListener listener, AbortSignal signal) {
    this.vertx = vertx;
    this.failover = failover;
    this.assembler = assembler;
    this.tools = tools;
    this.bus = bus;
    this.turn = turn;
    this.agent = turn.agent();
    this.listener = listener;
    this.signal = signal;
    this.specs = tools.specs(agent);
  }

  Future<TurnOutcome> run() {
    ownRuns.add(turn.context().runId());
    ownRuns.addAll(turn.runIds());
    turnMessages.add(ChatMessage.user(turn.userText()));
    Future<TurnOutcome> out;
    try {
      out = assemble().compose(v -> step(1));
    } catch (RuntimeException e) {
      out = Future.failedFuture(e);
    }
    return out.transform(ar -> ar.succeeded() ? Future.succeededFuture(ar.result())
        : Future.failedFuture(failure(ar.cause())));
  }

  // ---- steps ---------------------------------------------------------------------------------

  private Future<Void> assemble() {
    return assembler.assemble(agent, turn.context().sessionId(), ownRuns, turn.historyLimit(),
        turn.includeUntriggered()).map(a -> {
          system = a.system();
          history = a.history();
          compaction = a.compaction();
          return null;
        });
  }

  private ModelCall modelCall() {
    List<ChatMessage> all = new ArrayList<>(history);
    all.addAll(turnMessages);
    return new ModelCall(system, all, specs);
  }

  private Future<TurnOutcome> step(int n) {
    if (signal.aborted()) {
      return Future.failedFuture(new AbortSignal.Aborted(signal.reason()));
    }
    foldSteering();
    return callModel()
        .recover(this::afterOverflow)
        .compose(reply -> afterReply(reply, n));
  }

  /**
   * Takes the steering messages that came so far into the turn, before a model call that happens
   * anyway (the first, or the one after tool results): a message steers the run at its next model
   * step and is answered by it.
   */
  private void foldSteering() {
    for (TurnListener.Steering s : turn.steering().get()) {
      ownRuns.add(s.id());
      turnMessages.add(ChatMessage.user(s.text()));
    }
  }

  private Future<ModelReply> callModel() {
    ModelCall call = modelCall();
    int window = agent.model().contextWindow();
    if (window > 0 && call.estimatedTokens() > window) {
      // known to be too large: compact first instead of paying for a refused request
      return Future.failedFuture(ModelFailure.of(FailureKind.CONTEXT_OVERFLOW, "the prompt (about "
          + call.estimatedTokens() + " tokens) exceeds the context window of " + agent.model().label() + " ("
          + window + " tokens)", agent.model().provider(), agent.model().model()));
    }
    attemptText = "";
    return failover.call(agent.model(), call, chunk -> {
      attemptText += chunk;
      emitText();
    }, new ModelFailover.Attempts() {
      @Override
      public void starting(ModelConfig model, int attempt) {
        if (!attemptText.isEmpty()) {
          attemptText = ""; // a failed attempt's partial answer is taken back
          emitText();
        }
      }

      @Override
      public void spent(ModelConfig model, Usage used) {
        // a failed attempt that streamed was paid for: the turn's totals include it
        count(model, used);
      }
    }, signal);
  }

  private void count(ModelConfig model, Usage used) {
    usage = usage.plus(used);
    costUsd = Costs.add(costUsd, Costs.estimate(model, used));
  }

  /** On a context overflow: ask the memory engine to compact the session once, rebuild, retry once. */
  private Future<ModelReply> afterOverflow(Throwable err) {
    ModelFailure f = err instanceof ModelFailover.AttemptsFailure af ? af.last
        : err instanceof ModelFailure mf ? mf : null;
    if (f == null || f.kind() != FailureKind.CONTEXT_OVERFLOW || compacted || signal.aborted()) {
      return Future.failedFuture(err);
    }
    compacted = true;
    // the turn's own stored messages are the newest; keep them and a quarter of the history shown
    int keep = Math.max(2, history.size() / 4) + ownRuns.size();
    LOG.info("{} overflowed the context of {} in session {}; compacting (keeping {} messages)",
        turn.context().runId(), f.model(), turn.context().sessionKey(), keep);
    JsonObject request = new JsonObject().put("agentId", agent.id()).put("sessionId", turn.context().sessionId())
        .put("afterSeq", compaction.throughSeq()).put("previousSummary", compaction.summary())
        .put("keepMessages", keep);
    return bus.request(MemoryAddresses.COMPACT, request, COMPACT_TIMEOUT_MS)
        .recover(cerr -> Future.failedFuture(new Stop(FailureKind.CONTEXT_OVERFLOW,
            "the context was too large and compaction failed: " + cerr.getMessage())))
        .compose(reply -> {
          if (reply.getInteger("droppedMessages", 0) == 0) {
            return Future.failedFuture(err); // nothing older to compact: the turn itself is too large
          }
          JsonObject event = new JsonObject().put("entryId", reply.getString("entryId"))
              .put("throughSeq", reply.getLong("throughSeq")).put("summary", reply.getString("summary"))
              .put("droppedMessages", reply.getInteger("droppedMessages")).put("compactedAt", System.currentTimeMillis());
          return listener.onCompacted(event).compose(v -> assemble()).compose(v -> callModel());
        });
  }

  private Future<TurnOutcome> afterReply(ModelReply reply, int n) {
    steps++;
    count(answering(reply), reply.usage());
    committed = join(committed, reply.text());
    attemptText = "";
    emitText();
    if (reply.toolCalls().isEmpty()) {
      // steering that arrives now is not taken: there is no next model step, so it runs as the next turn
      return Future.succeededFuture(new TurnOutcome(committed, reply.stopReason(), usage, costUsd,
          reply.provider(), reply.model(), steps, toolCalls));
    }
    if (n >= agent.loop().maxSteps()) {
      return Future.failedFuture(new Stop(FailureKind.STEP_LIMIT, "the agent reached its limit of "
          + agent.loop().maxSteps() + " model calls and still asked for tools"));
    }
    turnMessages.add(ChatMessage.assistant(reply.text(), reply.toolCalls()));
    return runTools(reply.toolCalls(), 0, n).compose(v -> step(n + 1));
  }

  /** The configured model (primary or fallback) that produced {@code reply}. */
  private ModelConfig answering(ModelReply reply) {
    for (ModelConfig m : agent.model().chain()) {
      if (m.provider().equals(reply.provider()) && m.model().equals(reply.model())) {
        return m;
      }
    }
    return agent.model();
  }

  // ---- tools ---------------------------------------------------------------------------------

  private Future<Void> runTools(List<ToolCall> calls, int i, int step) {
    if (i >= calls.size()) {
      return Future.succeededFuture();
    }
    if (signal.aborted()) {
      return Future.failedFuture(new AbortSignal.Aborted(signal.reason()));
    }
    ToolCall call = calls.get(i);
    String signature = call.name() + " " + (call.arguments() != null ? canonical(call.arguments()) : call.rawArguments());
    int seen = identicalCalls.merge(signature, 1, Integer::sum);
    if (seen > agent.loop().maxIdenticalToolCalls()) {
      return Future.failedFuture(new Stop(FailureKind.LOOP, "stopped: the model called " + call.name()
          + " with the same arguments " + seen + " times in one turn (loop detector)"));
    }
    toolCalls++;
    JsonObject shownArgs = call.arguments() != null ? call.arguments()
        : new JsonObject().put("_raw", clip(call.rawArguments(), EVENT_RESULT_CHARS));
    long t0 = System.currentTimeMillis();
    return listener.onToolCall(new TurnListener.ToolCallEvent(call.id(), call.name(), shownArgs, step))
        .compose(v -> invoke(call))
        .compose(result -> {
          long took = System.currentTimeMillis() - t0;
          String content = clip(result.text, MODEL_RESULT_CHARS);
          turnMessages.add(ChatMessage.toolResult(call.id(), call.name(), content, result.isError));
          return listener.onToolResult(new TurnListener.ToolResultEvent(call.id(), call.name(), result.isError,
                  clip(content, EVENT_RESULT_CHARS), took, step))
              .map(v -> result);
        })
        .compose(result -> {
          if (!result.isError) {
            consecutiveToolFailures = 0;
          } else if (++consecutiveToolFailures >= agent.loop().maxToolFailures()) {
            return Future.failedFuture(new Stop(FailureKind.TOOL_FAILURES, consecutiveToolFailures
                + " tool calls in a row failed; the last, " + call.name() + ", said: " + clip(result.text, 300)));
          }
          return runTools(calls, i + 1, step);
        });
  }

  private record Result(String text, boolean isError) {
  }

  private Future<Result> invoke(ToolCall call) {
    Tool tool = tools.find(agent, call.name());
    if (tool == null) {
      return Future.succeededFuture(new Result("unknown tool \"" + call.name() + "\"; available: "
          + String.join(", ", agent.tools()), true));
    }
    if (call.arguments() == null) {
      return Future.succeededFuture(new Result("the arguments are not a JSON object: "
          + clip(call.rawArguments(), 200), true));
    }
    Future<String> answer;
    try {
      answer = tool.invoke(turn.context(), call.id(), call.arguments());
    } catch (RuntimeException e) {
      answer = Future.failedFuture(e);
    }
    Promise<String> bounded = Promise.promise();
    long timeout = agent.loop().toolTimeoutMs();
    long timer = vertx.setTimer(timeout, t -> bounded.tryFail(new ToolError("the tool did not answer within "
        + timeout + " ms")));
    AbortSignal.Registration onAbort = signal.onAbort(() -> bounded.tryFail(new AbortSignal.Aborted(signal.reason())));
    answer.onComplete(ar -> {
      if (ar.succeeded()) {
        bounded.tryComplete(ar.result());
      } else {
        bounded.tryFail(ar.cause());
      }
    });
    return bounded.future()
        .onComplete(x -> {
          vertx.cancelTimer(timer);
          onAbort.remove();
        })
        .map(text -> new Result(text == null ? "" : text, false))
        .recover(err -> {
          if (err instanceof AbortSignal.Aborted) {
            return Future.failedFuture(err);
          }
          return Future.succeededFuture(new Result(describe(call, err), true));
        });
  }

  private static String describe(ToolCall call, Throwable err) {
    if (err instanceof ToolError) {
      return err.getMessage();
    }
    if (err instanceof ReplyException r && r.failureCode() >= 400 && r.failureCode() < 500) {
      return r.getMessage(); // the component's own message for a bad request (validation)
    }
    if (BusFailure.codeOf(err) == BusFailure.UNAVAILABLE) {
      return call.name() + " is unavailable right now";
    }
    LOG.warn("tool {} failed", call.name(), err);
    return call.name() + " failed with an internal error";
  }

  // ---- text and failures ---------------------------------------------------------------------

  private void emitText() {
    listener.onText(join(committed, attemptText));
  }

  static String join(String a, String b) {
    if (a.isEmpty()) {
      return b;
    }
    return b.isEmpty() ? a : a + STEP_SEPARATOR + b;
  }

  /** Every way the loop can fail, as a {@link TurnFailure} carrying what the turn used. */
  private Throwable failure(Throwable err) {
    if (err instanceof TurnFailure) {
      return err;
    }
    if (err instanceof AbortSignal.Aborted || signal.aborted()) {
      return new TurnFailure(FailureKind.ABORTED, "aborted (" + signal.reason() + ")", null, usage, costUsd, steps,
          err instanceof AbortSignal.Aborted ? err : new AbortSignal.Aborted(signal.reason()));
    }
    if (err instanceof ModelFailover.AttemptsFailure af) {
      return new TurnFailure(af.last.kind(), af.last.getMessage(), af.last.detail().put("attempts", af.attempts),
          usage, costUsd, steps, af.last);
    }
    if (err instanceof ModelFailure f) {
      return new TurnFailure(f.kind(), f.getMessage(), f.detail(), usage, costUsd, steps, f);
    }
    if (err instanceof Stop s) {
      JsonObject detail = new JsonObject().put("failoverReason", s.kind.id());
      return new TurnFailure(s.kind, s.getMessage(), detail, usage, costUsd, steps, s);
    }
    // storing the turn's steps failed: that is the gateway's problem, not the model's
    return err;
  }

  private static String clip(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max) + "…";
  }

  /** JSON with keys sorted at every level, so equal arguments give equal text whatever their order. */
  static String canonical(Object v) {
    if (v instanceof JsonObject o) {
      TreeMap<String, Object> sorted = new TreeMap<>(o.getMap());
      StringBuilder sb = new StringBuilder("{");
      sorted.forEach((k, val) -> {
        if (sb.length() > 1) {
          sb.append(',');
        }
        sb.append(io.vertx.core.json.Json.encode(k)).append(':').append(canonical(val));
      });
      return sb.append('}').toString();
    }
    if (v instanceof Map<?, ?> m) {
      return canonical(new JsonObject(castMap(m)));
    }
    if (v instanceof JsonArray a) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < a.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        sb.append(canonical(a.getValue(i)));
      }
      return sb.append(']').toString();
    }
    if (v instanceof List<?> l) {
      return canonical(new JsonArray(new ArrayList<>(l)));
    }
    return io.vertx.core.json.Json.encode(v);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }
}
