package dev.switchboard.support;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scripted model server for tests: a real Vert.x HTTP server on 127.0.0.1 (port 0) that speaks a
 * provider's wire protocol and streams real server-sent events. Subclasses supply the wire format
 * ({@link ScriptedOpenAiServer}, {@link ScriptedAnthropicServer}); this class holds the script.
 *
 * <p>The model (the harness convention of BEHAVIOURS.md): it answers each token {@code [in:T]} found in
 * the last user message with {@code <<T>> ok <<end-T>>}, so drops and duplicates can be counted
 * exactly. Directives in that message make it call tools:
 * <ul>
 *   <li>{@code [call:NAME:{json}]}: call tool NAME with these arguments (several directives: several
 *       calls in one answer); once the results are back, answer {@code <<T>> tool NAME said: RESULT <<end-T>>};</li>
 *   <li>{@code [repeat:NAME:{json}]}: call it again after every result (a loop);</li>
 *   <li>{@code [vary:NAME]}: call it after every result, with arguments {@code {"n": results so far}}.</li>
 * </ul>
 * Faults are queued ({@link #enqueue}, applied to the next requests in order), bound to an API key
 * ({@link #failKey}, every request with that key), or triggered by size ({@link #contextLimitMessages}).
 * Every request is recorded with the time it arrived, and so is what the stand-in actually put on the
 * wire that tests make claims about: the usage it reported ({@link #reportedUsage}) and the frames
 * that carried each tool call ({@link #streamedCalls}).
 */
public abstract class ScriptedModelServer implements AutoCloseable {
  private static final Pattern TOKEN = Pattern.compile("\\[in:([A-Za-z0-9_-]+)]");
  private static final Pattern CALL = Pattern.compile("\\[(call|repeat):([a-z_]+):(\\{.*?})]");
  private static final Pattern VARY = Pattern.compile("\\[vary:([a-z_]+)]");
  /** {@code [pad:<n>]}: the answer's body is about n characters long (benchmarks want realistic replies). */
  private static final Pattern PAD = Pattern.compile("\\[pad:(\\d{1,6})]");
  /** {@code [say:<text>]}: the answer is exactly that text (to script silence markers and the like). */
  private static final Pattern SAY = Pattern.compile("\\[say:([^\\]]*)]");

  /**
   * One request as received.
   *
   * @param receivedNanos {@link System#nanoTime()} when its body had arrived (before any answer)
   */
  public record Recorded(String path, String apiKey, JsonObject body, Conversation conversation, long receivedNanos) {
  }

  /**
   * One tool call as the stand-in streamed it.
   *
   * @param request   the index of the request it answered (in {@link #requests()})
   * @param id        the call's id on the wire
   * @param frames    SSE frames written that carried a piece of this call (its start included)
   * @param arguments the argument fragments written, joined in order
   */
  public record StreamedCall(int request, String id, String name, int frames, String arguments) {
  }

  /** Token counts the stand-in put on the wire for one request (the latest when a stream updates them). */
  public record ReportedUsage(long input, long cacheRead, long cacheWrite, long output) {
  }

  /** The conversation of a request, flattened in order, provider-neutral. */
  public record Conversation(String model, String system, List<Entry> entries, List<String> tools) {
    /** Index of the last user text, -1 when none. */
    int lastUserText() {
      for (int i = entries.size() - 1; i >= 0; i--) {
        if (entries.get(i).kind == Kind.USER) {
          return i;
        }
      }
      return -1;
    }

    public String lastUserTextValue() {
      int i = lastUserText();
      return i < 0 ? "" : entries.get(i).text;
    }

    /** Every user and assistant text, in order (what "the model saw"). */
    public List<String> texts() {
      List<String> out = new ArrayList<>();
      for (Entry e : entries) {
        if (e.kind != Kind.TOOL_RESULT && !e.text.isEmpty()) {
          out.add(e.text);
        }
      }
      return out;
    }

    public List<Entry> toolResults() {
      return entries.stream().filter(e -> e.kind == Kind.TOOL_RESULT).toList();
    }

    /** User and assistant messages (the history length a context limit counts). */
    public int messageCount() {
      return (int) entries.stream().filter(e -> e.kind != Kind.TOOL_RESULT).count();
    }
  }

  public enum Kind { USER, ASSISTANT, TOOL_RESULT }

  /** One flattened entry: a user text, an assistant text (with the tool names it called), or a tool result. */
  public record Entry(Kind kind, String text, String toolName, boolean isError) {
  }

  /** A tool call the model makes; its arguments are streamed in pieces of {@code pieceChars}. */
  public record Call(String id, String name, String arguments) {
  }

  /** What the model answers. */
  public record Reply(String text, List<Call> calls) {
  }

  /** A fault instead of (or in the middle of) an answer. */
  public sealed interface Fault {
  }

  /** An HTTP error with the provider's error body; {@code retryAfter} (seconds) may be null. */
  public record Status(int code, String type, String message, String retryAfter) implements Fault {
  }

  /** Streams this much text, then nothing more while the connection stays open. */
  public record Stall(String partialText) implements Fault {
  }

  /** Streams a keep-alive comment every {@code everyMs} forever: never idle, never done. */
  public record Trickle(long everyMs) implements Fault {
  }

  /** Answers 200 with an event stream whose data is not JSON. */
  public record Malformed() implements Fault {
  }

  /** Streams this much text, then closes the stream without finishing it. */
  public record Truncate(String partialText) implements Fault {
  }

  /** Answers with the provider's refusal (content filter / refusal stop reason). */
  public record Refusal() implements Fault {
  }

  /** Waits for {@code gate} before answering normally (a barrier the test opens). */
  public record Gate(Future<Void> gate) implements Fault {
  }

  /**
   * Starts the answer (usage and {@code partialText} streamed), then reports an error inside the
   * stream, the way Anthropic does ({@code event: error} after a 200), and ends the response.
   */
  public record StreamError(String partialText, String type, String message) implements Fault {
  }

  protected final Vertx vertx;
  private HttpServer server;
  private final List<Recorded> requests = new ArrayList<>();
  private final Deque<Fault> faults = new ArrayDeque<>();
  private final Map<String, Fault> keyFaults = new HashMap<>();
  private final Set<HttpServerResponse> open = new LinkedHashSet<>();
  private volatile int contextLimitMessages = Integer.MAX_VALUE;
  protected volatile long streamDelayMs;
  private volatile boolean record = true;
  private volatile long cachedTokens;
  protected volatile long cacheWriteTokens;
  protected volatile boolean omitToolCallIndex;
  private final List<StreamedCall> streamedCalls = new ArrayList<>();
  private final Map<Integer, ReportedUsage> reportedUsage = new HashMap<>();
  private final List<String> protocolErrors = java.util.Collections.synchronizedList(new ArrayList<>());

  protected ScriptedModelServer(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Starts listening on a free loopback port. */
  public <T extends ScriptedModelServer> T start() {
    return start(0);
  }

  /** Starts listening on {@code port} on loopback (0: any free port). */
  @SuppressWarnings("unchecked")
  public <T extends ScriptedModelServer> T start(int port) {
    try {
      server = vertx.createHttpServer().requestHandler(this::handle).listen(port, "127.0.0.1")
          .await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return (T) this;
  }

  /** The base URL to configure ({@code http://127.0.0.1:<port>/v1}). */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort() + "/v1";
  }

  /** Pause between streamed pieces (0: all at once), to stream like a real model does. */
  public ScriptedModelServer streamDelayMs(long ms) {
    this.streamDelayMs = ms;
    return this;
  }

  /** Keeps no request log (long benchmark runs would otherwise hold every request). */
  public ScriptedModelServer recordRequests(boolean record) {
    this.record = record;
    return this;
  }

  public synchronized ScriptedModelServer enqueue(Fault... next) {
    faults.addAll(List.of(next));
    return this;
  }

  /** Every request sent with {@code apiKey} gets {@code fault}. */
  public synchronized ScriptedModelServer failKey(String apiKey, Fault fault) {
    keyFaults.put(apiKey, fault);
    return this;
  }

  /** Requests with more user/assistant messages than this get the provider's context-length error. */
  public ScriptedModelServer contextLimitMessages(int max) {
    contextLimitMessages = max;
    return this;
  }

  /** Reports this many prompt tokens as read from the provider's cache. */
  public ScriptedModelServer cachedTokens(long n) {
    cachedTokens = n;
    return this;
  }

  /** Reports this many prompt tokens as written to the provider's cache (Anthropic's cache_creation_input_tokens). */
  public ScriptedModelServer cacheWriteTokens(long n) {
    cacheWriteTokens = n;
    return this;
  }

  /**
   * Streams tool-call pieces without {@code index}, as some OpenAI-compatible servers (older Ollama)
   * do: a piece with a new id starts the next call, a piece without an id continues the last one.
   */
  public ScriptedModelServer omitToolCallIndex(boolean omit) {
    omitToolCallIndex = omit;
    return this;
  }

  /** Every tool call streamed so far, in the order their first frame was written. */
  public List<StreamedCall> streamedCalls() {
    synchronized (streamedCalls) {
      return List.copyOf(streamedCalls);
    }
  }

  /** What the answer to request {@code index} reported as usage; null when it reported none. */
  public ReportedUsage reportedUsage(int index) {
    synchronized (reportedUsage) {
      return reportedUsage.get(index);
    }
  }

  /** Requests the real API would have refused (bad shape): tests assert this stays empty. */
  public List<String> protocolErrors() {
    return List.copyOf(protocolErrors);
  }

  public List<Recorded> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** Waits until at least {@code n} requests have arrived (a barrier, not a sleep); returns them. */
  public List<Recorded> awaitRequests(int n, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (requests) {
      while (requests.size() < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("expected " + n + " model requests, got " + requests.size());
        }
        try {
          requests.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
      return List.copyOf(requests);
    }
  }

  // ---- wire format, per provider --------------------------------------------------------------

  protected abstract String path();

  /** The API key the request carries (Authorization: Bearer, x-api-key), or null. */
  protected abstract String apiKey(HttpServerRequest req);

  protected abstract Conversation parse(JsonObject body);

  /**
   * Writes {@code reply} as the provider's event stream, all of it or (fault) part of it.
   *
   * @param request the index of the request (for {@link #toolCallFrame} and {@link #reported}), -1 when
   *                requests are not recorded
   */
  protected abstract void stream(HttpServerResponse resp, int request, Conversation c, Reply reply, Fault fault,
      long inputTokens, long cachedTokens);

  /** A mid-stream error in the provider's own shape (Anthropic: {@code event: error}). */
  protected void streamError(HttpServerResponse resp, int request, Conversation c, StreamError fault,
      long inputTokens, long cachedTokens) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no mid-stream error");
  }

  /** Notes that a frame carrying a piece of tool call {@code id} was written. */
  protected void toolCallFrame(int request, String id, String name, String argumentsPiece) {
    if (request < 0) {
      return;
    }
    synchronized (streamedCalls) {
      for (int i = 0; i < streamedCalls.size(); i++) {
        StreamedCall s = streamedCalls.get(i);
        if (s.request() == request && s.id().equals(id)) {
          streamedCalls.set(i, new StreamedCall(request, id, name, s.frames() + 1, s.arguments() + argumentsPiece));
          return;
        }
      }
      streamedCalls.add(new StreamedCall(request, id, name, 1, argumentsPiece));
    }
  }

  /** Notes the usage an answer just put on the wire. */
  protected void reported(int request, ReportedUsage usage) {
    if (request >= 0) {
      synchronized (reportedUsage) {
        reportedUsage.put(request, usage);
      }
    }
  }

  /** Output tokens the stand-in reports for a complete reply. */
  protected static long outputTokens(Reply reply) {
    return Math.max(1, (reply.text().length() + reply.calls().toString().length()) / 4);
  }

  /** The provider's error body for {@code status}. */
  protected abstract JsonObject errorBody(Status status);

  /** The provider's context-length error. */
  protected abstract Status contextLengthError(int messages);

  // ---- handling -------------------------------------------------------------------------------

  private void handle(HttpServerRequest req) {
    if (!req.path().equals(path()) || req.method() != io.vertx.core.http.HttpMethod.POST) {
      req.response().setStatusCode(404).end();
      return;
    }
    req.body().onSuccess(buf -> {
      JsonObject body = buf.toJsonObject();
      String key;
      Conversation c;
      try {
        key = apiKey(req);
        c = parse(body);
      } catch (RuntimeException e) {
        // a request the real API would refuse: say so, loudly, so the test sees it
        protocolErrors.add(e.getMessage());
        req.response().setStatusCode(400).putHeader("content-type", "application/json")
            .end(errorBody(new Status(400, "invalid_request_error", "stand-in refused: " + e.getMessage(), null))
                .encode());
        return;
      }
      Fault fault;
      synchronized (this) {
        fault = key != null && keyFaults.containsKey(key) ? keyFaults.get(key) : faults.poll();
      }
      long received = System.nanoTime();
      int index = -1;
      if (record) {
        synchronized (requests) {
          index = requests.size();
          requests.add(new Recorded(req.path(), key, body, c, received));
          requests.notifyAll();
        }
      }
      if (fault == null && c.messageCount() > contextLimitMessages) {
        fault = contextLengthError(c.messageCount());
      }
      respond(req.response(), index, c, fault, Math.max(1, body.encode().length() / 4));
    });
  }

  private void respond(HttpServerResponse resp, int index, Conversation c, Fault fault, long inputTokens) {
    if (fault instanceof Status s) {
      if (s.retryAfter() != null) {
        resp.putHeader("retry-after", s.retryAfter());
      }
      resp.setStatusCode(s.code()).putHeader("content-type", "application/json").end(errorBody(s).encode());
      return;
    }
    if (fault instanceof Gate g) {
      g.gate().onComplete(x -> respond(resp, index, c, null, inputTokens));
      return;
    }
    resp.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    synchronized (open) {
      open.add(resp);
    }
    resp.closeHandler(v -> {
      synchronized (open) {
        open.remove(resp);
      }
    });
    if (fault instanceof Malformed) {
      resp.write("data: {\"choices\": [ this is not json\n\n");
      resp.end();
      return;
    }
    if (fault instanceof Trickle t) {
      // stops by itself once the client has reset the stream
      vertx.setPeriodic(t.everyMs(), id -> {
        if (resp.closed() || resp.ended()) {
          vertx.cancelTimer(id);
        } else {
          resp.write(": keep-alive\n\n");
        }
      });
      return;
    }
    if (fault instanceof StreamError e) {
      streamError(resp, index, c, e, inputTokens, cachedTokens);
      return;
    }
    stream(resp, index, c, answer(c), fault, inputTokens, cachedTokens);
  }

  /** The scripted model: what it answers to a conversation. */
  public static Reply answer(Conversation c) {
    int u = c.lastUserText();
    String user = c.lastUserTextValue();
    List<Entry> results = u < 0 ? List.of() : c.entries().subList(u + 1, c.entries().size()).stream()
        .filter(e -> e.kind() == Kind.TOOL_RESULT).toList();
    List<Call> calls = new ArrayList<>();
    Matcher m = CALL.matcher(user);
    int n = 0;
    while (m.find()) {
      if (m.group(1).equals("repeat") || results.isEmpty()) {
        calls.add(new Call("call_" + (c.toolResults().size() + ++n), m.group(2), m.group(3)));
      }
    }
    Matcher v = VARY.matcher(user);
    while (v.find()) {
      calls.add(new Call("call_" + (c.toolResults().size() + ++n), v.group(1), "{\"n\":" + results.size() + "}"));
    }
    if (!calls.isEmpty()) {
      return new Reply("", calls);
    }
    Matcher say = SAY.matcher(user);
    if (say.find() && results.isEmpty()) {
      return new Reply(say.group(1), List.of());
    }
    List<String> tokens = new ArrayList<>();
    Matcher t = TOKEN.matcher(user);
    while (t.find()) {
      tokens.add(t.group(1));
    }
    String body;
    if (!results.isEmpty()) {
      StringBuilder sb = new StringBuilder();
      for (Entry r : results) {
        if (sb.length() > 0) {
          sb.append(" | ");
        }
        sb.append("tool ").append(r.toolName()).append(r.isError() ? " failed: " : " said: ").append(r.text());
      }
      body = sb.toString();
    } else {
      Matcher pad = PAD.matcher(user);
      body = pad.find() ? padded(Integer.parseInt(pad.group(1))) : "ok";
    }
    if (tokens.isEmpty()) {
      return new Reply(body, List.of());
    }
    StringBuilder sb = new StringBuilder();
    for (String tok : tokens) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append("<<").append(tok).append(">> ").append(body).append(" <<end-").append(tok).append(">>");
    }
    return new Reply(sb.toString(), List.of());
  }

  /** One SSE frame to write; {@code written} (may be null) runs right after it was handed to the connection. */
  protected record Frame(String sse, Runnable written) {
    public Frame(String sse) {
      this(sse, null);
    }

    void write(HttpServerResponse resp) {
      resp.write(sse);
      if (written != null) {
        written.run();
      }
    }
  }

  /**
   * Writes SSE frames in order, {@link #streamDelayMs} apart (all at once when 0), then ends the
   * response when {@code end}. Stops quietly if the client went away.
   */
  protected void emit(HttpServerResponse resp, List<Frame> frames, boolean end) {
    if (streamDelayMs <= 0) {
      frames.forEach(f -> f.write(resp));
      if (end) {
        resp.end();
      }
      return;
    }
    emitFrom(resp, frames, 0, end);
  }

  private void emitFrom(HttpServerResponse resp, List<Frame> frames, int i, boolean end) {
    if (resp.closed() || resp.ended()) {
      return;
    }
    if (i >= frames.size()) {
      if (end) {
        resp.end();
      }
      return;
    }
    frames.get(i).write(resp);
    vertx.setTimer(streamDelayMs, t -> emitFrom(resp, frames, i + 1, end));
  }

  private static String padded(int n) {
    StringBuilder sb = new StringBuilder("ok");
    String[] words = {"the", "answer", "streams", "in", "small", "pieces", "like", "a", "model", "would"};
    for (int i = 0; sb.length() < n; i++) {
      sb.append(' ').append(words[i % words.length]);
    }
    return sb.toString();
  }

  /** Splits text into pieces of about {@code size} characters (streamed as separate events). */
  protected static List<String> pieces(String text, int size) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < text.length(); i += size) {
      out.add(text.substring(i, Math.min(text.length(), i + size)));
    }
    return out;
  }

  @Override
  public void close() {
    List<HttpServerResponse> still;
    synchronized (open) {
      still = new ArrayList<>(open);
    }
    still.forEach(r -> r.reset());
    if (server != null) {
      try {
        server.close().await(10, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // closing a test server
      }
    }
  }

  /** A promise a test completes to open a {@link Gate}. */
  public static Promise<Void> gate() {
    return Promise.promise();
  }
}
