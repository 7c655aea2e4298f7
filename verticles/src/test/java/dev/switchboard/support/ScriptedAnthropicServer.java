package dev.switchboard.support;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A scripted Anthropic Messages server ({@code POST /v1/messages}, streaming): {@code message_start},
 * a {@code ping}, one {@code text} block and one {@code tool_use} block per call (its JSON input in
 * {@code input_json_delta} fragments), {@code message_delta} with the stop reason and output usage,
 * {@code message_stop}. Requests must carry {@code x-api-key} and {@code anthropic-version}. A
 * {@link ScriptedModelServer.StreamError} fault sends {@code event: error} after the answer started,
 * as Anthropic does when it fails mid-answer.
 */
public final class ScriptedAnthropicServer extends ScriptedModelServer {
  public ScriptedAnthropicServer(Vertx vertx) {
    super(vertx);
  }

  @Override
  protected String path() {
    return "/v1/messages";
  }

  @Override
  protected String apiKey(HttpServerRequest req) {
    if (req.getHeader("anthropic-version") == null) {
      throw new IllegalStateException("anthropic-version header missing");
    }
    return req.getHeader("x-api-key");
  }

  @Override
  protected Conversation parse(JsonObject body) {
    List<Entry> entries = new ArrayList<>();
    Map<String, String> toolNames = new HashMap<>();
    String previousRole = null;
    for (Object o : body.getJsonArray("messages", new JsonArray())) {
      JsonObject m = (JsonObject) o;
      String role = m.getString("role");
      if (role.equals(previousRole)) {
        throw new IllegalStateException("roles must alternate, got two " + role + " messages in a row");
      }
      previousRole = role;
      Object content = m.getValue("content");
      if (content instanceof String s) {
        entries.add(new Entry(role.equals("user") ? Kind.USER : Kind.ASSISTANT, s, null, false));
        continue;
      }
      StringBuilder assistantText = new StringBuilder();
      for (Object b : (JsonArray) content) {
        JsonObject block = (JsonObject) b;
        switch (block.getString("type")) {
          case "text" -> {
            if (role.equals("user")) {
              entries.add(new Entry(Kind.USER, block.getString("text"), null, false));
            } else {
              assistantText.append(block.getString("text"));
            }
          }
          case "tool_use" -> toolNames.put(block.getString("id"), block.getString("name"));
          case "tool_result" -> entries.add(new Entry(Kind.TOOL_RESULT, String.valueOf(block.getValue("content")),
              toolNames.get(block.getString("tool_use_id")), block.getBoolean("is_error", false)));
          default -> throw new IllegalArgumentException("unknown block " + block.getString("type"));
        }
      }
      if (role.equals("assistant")) {
        entries.add(new Entry(Kind.ASSISTANT, assistantText.toString(), null, false));
      }
    }
    List<String> tools = new ArrayList<>();
    for (Object t : body.getJsonArray("tools", new JsonArray())) {
      tools.add(((JsonObject) t).getString("name"));
    }
    return new Conversation(body.getString("model"), body.getString("system", ""), entries, tools);
  }

  @Override
  protected void stream(HttpServerResponse resp, int request, Conversation c, Reply reply, Fault fault,
      long inputTokens, long cachedTokens) {
    start(resp, request, c, inputTokens, cachedTokens);
    if (fault instanceof Refusal) {
      finish(resp, request, "refusal", 1);
      return;
    }
    String partial = fault instanceof Stall s ? s.partialText() : fault instanceof Truncate t ? t.partialText() : null;
    String text = partial != null ? partial : reply.text();
    int index = 0;
    if (!text.isEmpty()) {
      text(resp, index, text);
      if (partial != null) {
        if (fault instanceof Truncate) {
          resp.end();
        }
        return; // a stall leaves the connection open and silent
      }
      event(resp, "content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", index));
      index++;
    }
    for (Call call : reply.calls()) {
      String id = "toolu_" + call.id();
      event(resp, "content_block_start", new JsonObject().put("type", "content_block_start").put("index", index)
          .put("content_block", new JsonObject().put("type", "tool_use").put("id", id)
              .put("name", call.name()).put("input", new JsonObject())));
      toolCallFrame(request, id, call.name(), "");
      for (String piece : pieces(call.arguments(), ScriptedOpenAiServer.ARG_PIECE)) {
        event(resp, "content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", index)
            .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", piece)));
        toolCallFrame(request, id, call.name(), piece);
      }
      event(resp, "content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", index));
      index++;
    }
    finish(resp, request, reply.calls().isEmpty() ? "end_turn" : "tool_use", outputTokens(reply));
  }

  /** After a 200 and some text: an {@code error} event, as Anthropic sends when it fails mid-answer. */
  @Override
  protected void streamError(HttpServerResponse resp, int request, Conversation c, StreamError fault,
      long inputTokens, long cachedTokens) {
    start(resp, request, c, inputTokens, cachedTokens);
    if (!fault.partialText().isEmpty()) {
      text(resp, 0, fault.partialText());
    }
    event(resp, "error", new JsonObject().put("type", "error").put("error", new JsonObject()
        .put("type", fault.type()).put("message", fault.message())));
    resp.end();
  }

  /** {@code message_start} (input usage split into uncached, cache reads and cache writes) and a {@code ping}. */
  private void start(HttpServerResponse resp, int request, Conversation c, long inputTokens, long cachedTokens) {
    long write = cacheWriteTokens;
    long uncached = inputTokens - cachedTokens - write;
    event(resp, "message_start", new JsonObject().put("type", "message_start").put("message", new JsonObject()
        .put("id", "msg_1").put("type", "message").put("role", "assistant").put("model", c.model())
        .put("content", new JsonArray()).putNull("stop_reason")
        .put("usage", new JsonObject().put("input_tokens", uncached).put("output_tokens", 1)
            .put("cache_read_input_tokens", cachedTokens).put("cache_creation_input_tokens", write))));
    reported(request, new ReportedUsage(uncached, cachedTokens, write, 1));
    event(resp, "ping", new JsonObject().put("type", "ping"));
  }

  /** A text block's start and its deltas (not its stop). */
  private static void text(HttpServerResponse resp, int index, String text) {
    event(resp, "content_block_start", new JsonObject().put("type", "content_block_start").put("index", index)
        .put("content_block", new JsonObject().put("type", "text").put("text", "")));
    for (String piece : pieces(text, 4)) {
      event(resp, "content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", index)
          .put("delta", new JsonObject().put("type", "text_delta").put("text", piece)));
    }
  }

  private void finish(HttpServerResponse resp, int request, String stopReason, long outputTokens) {
    event(resp, "message_delta", new JsonObject().put("type", "message_delta")
        .put("delta", new JsonObject().put("stop_reason", stopReason).putNull("stop_sequence"))
        .put("usage", new JsonObject().put("output_tokens", outputTokens)));
    ReportedUsage started = reportedUsage(request);
    if (started != null) {
      reported(request, new ReportedUsage(started.input(), started.cacheRead(), started.cacheWrite(), outputTokens));
    }
    event(resp, "message_stop", new JsonObject().put("type", "message_stop"));
    resp.end();
  }

  private static void event(HttpServerResponse resp, String name, JsonObject data) {
    resp.write("event: " + name + "\ndata: " + data.encode() + "\n\n");
  }

  @Override
  protected JsonObject errorBody(Status s) {
    return new JsonObject().put("type", "error").put("error", new JsonObject().put("type", s.type())
        .put("message", s.message()));
  }

  @Override
  protected Status contextLengthError(int messages) {
    return new Status(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum ("
        + messages + " messages)", null);
  }

  public static Status overloaded() {
    return new Status(529, "overloaded_error", "Overloaded", null);
  }

  /** The {@code error} event Anthropic streams when it is overloaded in the middle of an answer. */
  public static StreamError overloadedMidStream(String partialText) {
    return new StreamError(partialText, "overloaded_error", "Overloaded");
  }

  public static Status rateLimited(String retryAfterSeconds) {
    return new Status(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
        retryAfterSeconds);
  }
}
