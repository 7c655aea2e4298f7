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
 * A scripted OpenAI Chat Completions server ({@code POST /v1/chat/completions}, streaming): what
 * OpenAI, Ollama, llama.cpp and vLLM send. Text comes in {@code delta.content} pieces, tool calls as
 * {@code delta.tool_calls} pieces (id and name first, then the JSON arguments a few characters at a
 * time), then the finish reason, a usage chunk and {@code data: [DONE]}.
 */
public final class ScriptedOpenAiServer extends ScriptedModelServer {
  /** Characters of tool-call arguments per streamed piece: small, so every call arrives in many deltas. */
  public static final int ARG_PIECE = 3;

  public ScriptedOpenAiServer(Vertx vertx) {
    super(vertx);
  }

  @Override
  protected String path() {
    return "/v1/chat/completions";
  }

  @Override
  protected String apiKey(HttpServerRequest req) {
    String h = req.getHeader("authorization");
    return h != null && h.startsWith("Bearer ") ? h.substring(7) : null;
  }

  @Override
  protected Conversation parse(JsonObject body) {
    String system = "";
    List<Entry> entries = new ArrayList<>();
    Map<String, String> toolNames = new HashMap<>();
    for (Object o : body.getJsonArray("messages", new JsonArray())) {
      JsonObject m = (JsonObject) o;
      String content = m.getValue("content") instanceof String s ? s : "";
      switch (m.getString("role")) {
        case "system" -> system = content;
        case "user" -> entries.add(new Entry(Kind.USER, content, null, false));
        case "assistant" -> {
          for (Object c : m.getJsonArray("tool_calls", new JsonArray())) {
            JsonObject call = (JsonObject) c;
            toolNames.put(call.getString("id"), call.getJsonObject("function").getString("name"));
          }
          entries.add(new Entry(Kind.ASSISTANT, content, null, false));
        }
        // Chat Completions has no error flag on tool results: the text says it
        case "tool" -> entries.add(new Entry(Kind.TOOL_RESULT, content, toolNames.get(m.getString("tool_call_id")),
            false));
        default -> throw new IllegalArgumentException("unknown role " + m.getString("role"));
      }
    }
    List<String> tools = new ArrayList<>();
    for (Object t : body.getJsonArray("tools", new JsonArray())) {
      tools.add(((JsonObject) t).getJsonObject("function").getString("name"));
    }
    return new Conversation(body.getString("model"), system, entries, tools);
  }

  @Override
  protected void stream(HttpServerResponse resp, int request, Conversation c, Reply reply, Fault fault,
      long inputTokens, long cachedTokens) {
    String model = c.model();
    write(resp, chunk(model, new JsonObject().put("role", "assistant").put("content", ""), null));
    if (fault instanceof Refusal) {
      write(resp, chunk(model, new JsonObject().put("refusal", "I can't help with that."), null));
      write(resp, chunk(model, new JsonObject(), "stop"));
      resp.end("data: [DONE]\n\n");
      return;
    }
    String partial = fault instanceof Stall s ? s.partialText() : fault instanceof Truncate t ? t.partialText() : null;
    String text = partial != null ? partial : reply.text();
    List<Frame> frames = new ArrayList<>();
    for (String piece : pieces(text, 4)) {
      frames.add(new Frame(sse(chunk(model, new JsonObject().put("content", piece), null))));
    }
    if (fault instanceof Stall) {
      emit(resp, frames, false); // the connection stays open, silent
      return;
    }
    if (fault instanceof Truncate) {
      emit(resp, frames, true);
      return;
    }
    for (int i = 0; i < reply.calls().size(); i++) {
      Call call = reply.calls().get(i);
      JsonObject start = new JsonObject().put("id", call.id()).put("type", "function")
          .put("function", new JsonObject().put("name", call.name()).put("arguments", ""));
      frames.add(toolCallFrame(request, model, call, i, start, ""));
      for (String piece : pieces(call.arguments(), ARG_PIECE)) {
        frames.add(toolCallFrame(request, model, call, i,
            new JsonObject().put("function", new JsonObject().put("arguments", piece)), piece));
      }
    }
    frames.add(new Frame(sse(chunk(model, new JsonObject(), reply.calls().isEmpty() ? "stop" : "tool_calls"))));
    long output = outputTokens(reply);
    frames.add(new Frame(sse(new JsonObject().put("id", "chatcmpl-1").put("object", "chat.completion.chunk")
        .put("model", model).put("choices", new JsonArray()).put("usage", new JsonObject()
            .put("prompt_tokens", inputTokens).put("completion_tokens", output).put("total_tokens", inputTokens + output)
            .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cachedTokens)))),
        () -> reported(request, new ReportedUsage(inputTokens, cachedTokens, 0, output))));
    frames.add(new Frame("data: [DONE]\n\n"));
    emit(resp, frames, true);
  }

  /** A {@code delta.tool_calls} frame with one piece of call {@code i} (its index left out when so configured). */
  private Frame toolCallFrame(int request, String model, Call call, int i, JsonObject piece, String argumentsPiece) {
    if (!omitToolCallIndex) {
      piece.put("index", i);
    }
    return new Frame(sse(chunk(model, new JsonObject().put("tool_calls", new JsonArray().add(piece)), null)),
        () -> toolCallFrame(request, call.id(), call.name(), argumentsPiece));
  }

  private static JsonObject chunk(String model, JsonObject delta, String finish) {
    return new JsonObject().put("id", "chatcmpl-1").put("object", "chat.completion.chunk").put("model", model)
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta)
            .put("finish_reason", finish)));
  }

  private static void write(HttpServerResponse resp, JsonObject data) {
    resp.write(sse(data));
  }

  private static String sse(JsonObject data) {
    return "data: " + data.encode() + "\n\n";
  }

  @Override
  protected JsonObject errorBody(Status s) {
    return new JsonObject().put("error", new JsonObject().put("message", s.message()).put("type", s.type())
        .put("code", s.type()));
  }

  @Override
  protected Status contextLengthError(int messages) {
    return new Status(400, "context_length_exceeded", "This model's maximum context length is 4096 tokens. However,"
        + " your messages resulted in 9000 tokens (" + messages + " messages). Please reduce the length of the"
        + " messages.", null);
  }

  public static Status rateLimited(String retryAfterSeconds) {
    return new Status(429, "rate_limit_exceeded", "Rate limit reached for requests", retryAfterSeconds);
  }

  public static Status serverError() {
    return new Status(500, "server_error", "The server had an error while processing your request.", null);
  }

  /** A 401 that quotes the key it was sent, as some providers and proxies do. */
  public static Status badKey(String key) {
    return new Status(401, "invalid_api_key", "Incorrect API key provided: " + key + ". You can find your API key"
        + " at https://platform.openai.com/account/api-keys.", null);
  }
}
