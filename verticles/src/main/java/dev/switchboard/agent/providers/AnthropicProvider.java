package dev.switchboard.agent.providers;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.ChatMessage;
import dev.switchboard.agent.FailureKind;
import dev.switchboard.agent.ModelCall;
import dev.switchboard.agent.ModelFailure;
import dev.switchboard.agent.ModelProvider;
import dev.switchboard.agent.ModelReply;
import dev.switchboard.agent.ToolCall;
import dev.switchboard.agent.ToolSpec;
import dev.switchboard.agent.Tokens;
import dev.switchboard.agent.Usage;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Anthropic Messages with streaming ({@code POST <baseUrl>/messages}, {@code stream: true}). Events:
 * {@code message_start} (input usage), {@code content_block_start} ({@code text} or {@code tool_use}
 * with id and name), {@code content_block_delta} ({@code text_delta} or {@code input_json_delta}
 * fragments of a tool's JSON input), {@code content_block_stop}, {@code message_delta} (stop reason,
 * output usage), {@code message_stop}; {@code ping} is ignored and {@code error} fails the call.
 * Tool results go back as {@code tool_result} blocks in a user message.
 */
public final class AnthropicProvider implements ModelProvider {
  static final String VERSION = "2023-06-01";
  /** Anthropic requires an output cap. */
  static final int DEFAULT_MAX_TOKENS = 4096;
  private static final Set<String> RESERVED = Set.of("model", "messages", "system", "stream", "tools", "max_tokens");

  private final StreamingHttp http;

  AnthropicProvider(StreamingHttp http) {
    this.http = http;
  }

  @Override
  public String api() {
    return "anthropic";
  }

  @Override
  public JsonObject requestBody(ModelConfig model, ModelCall call) {
    JsonArray messages = new JsonArray();
    for (ChatMessage m : call.messages()) {
      String role = m.role().equals(ChatMessage.ASSISTANT) ? "assistant" : "user";
      JsonArray content = new JsonArray();
      switch (m.role()) {
        case ChatMessage.USER -> {
          if (!m.text().isEmpty()) {
            content.add(new JsonObject().put("type", "text").put("text", m.text()));
          }
        }
        case ChatMessage.ASSISTANT -> {
          if (!m.text().isEmpty()) {
            content.add(new JsonObject().put("type", "text").put("text", m.text()));
          }
          for (ToolCall c : m.toolCalls()) {
            content.add(new JsonObject().put("type", "tool_use").put("id", c.id()).put("name", c.name())
                .put("input", c.arguments() != null ? c.arguments() : new JsonObject()));
          }
        }
        case ChatMessage.TOOL -> {
          JsonObject r = new JsonObject().put("type", "tool_result").put("tool_use_id", m.toolCallId())
              .put("content", m.text());
          if (m.isError()) {
            r.put("is_error", true);
          }
          content.add(r);
        }
        default -> throw new IllegalArgumentException("unknown role " + m.role());
      }
      if (content.isEmpty()) {
        continue; // the API refuses empty content
      }
      JsonObject last = messages.isEmpty() ? null : messages.getJsonObject(messages.size() - 1);
      if (last != null && last.getString("role").equals(role)) {
        last.getJsonArray("content").addAll(content); // roles must alternate: merge neighbours
      } else if (last != null || role.equals("user")) {
        messages.add(new JsonObject().put("role", role).put("content", content));
      }
      // an assistant message first (history cut in the middle) is dropped: the API wants a user first
    }
    JsonObject body = new JsonObject().put("model", model.model())
        .put("max_tokens", model.maxTokens() != null ? model.maxTokens() : DEFAULT_MAX_TOKENS)
        .put("stream", true);
    if (!call.system().isEmpty()) {
      body.put("system", call.system());
    }
    body.put("messages", messages);
    if (!call.tools().isEmpty()) {
      JsonArray tools = new JsonArray();
      for (ToolSpec t : call.tools()) {
        tools.add(new JsonObject().put("name", t.name()).put("description", t.description())
            .put("input_schema", t.parameters()));
      }
      body.put("tools", tools);
    }
    model.options().forEach(e -> {
      if (!RESERVED.contains(e.getKey())) {
        body.put(e.getKey(), e.getValue());
      }
    });
    return body;
  }

  @Override
  public Future<ModelReply> complete(ModelConfig model, Secret apiKey, ModelCall call, Consumer<String> onText,
      AbortSignal signal) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add("content-type", "application/json")
        .add("accept", "text/event-stream")
        .add("anthropic-version", VERSION);
    if (apiKey != null) {
      headers.add("x-api-key", apiKey.reveal());
    }
    Stream stream = new Stream(model, call, onText);
    return http.postEventStream(model, model.effectiveBaseUrl() + "/messages", headers,
            Buffer.buffer(requestBody(model, call).encode()), signal, stream::onEvent)
        .map(v -> stream.finish())
        .recover(err -> Future.failedFuture(StreamingHttp.spent(err, stream.spent())));
  }

  /** The state of one streamed message. */
  private static final class Stream {
    final ModelConfig model;
    final ModelCall call;
    final Consumer<String> onText;
    final StringBuilder text = new StringBuilder();
    final TreeMap<Integer, Block> blocks = new TreeMap<>();
    long inputTokens;
    long cacheRead;
    long cacheWrite;
    long outputTokens;
    String stopReason;
    /** message_start arrived: the model took the prompt (it is paid for from here on). */
    boolean started;
    /** message_delta gave the final output count. */
    boolean outputReported;
    boolean stopped;

    Stream(ModelConfig model, ModelCall call, Consumer<String> onText) {
      this.model = model;
      this.call = call;
      this.onText = onText;
    }

    void onEvent(SseParser.Event e) {
      JsonObject j;
      try {
        j = Json.decodeValue(e.data()) instanceof JsonObject o ? o : null;
      } catch (DecodeException ex) {
        j = null;
      }
      if (j == null) {
        throw malformed("a stream event from " + model.label() + " is not a JSON object");
      }
      String type = j.getString("type", e.type());
      switch (type) {
        case "message_start" -> {
          started = true;
          JsonObject u = j.getJsonObject("message", new JsonObject()).getJsonObject("usage", new JsonObject());
          inputTokens = u.getLong("input_tokens", 0L);
          cacheRead = u.getLong("cache_read_input_tokens", 0L);
          cacheWrite = u.getLong("cache_creation_input_tokens", 0L);
          outputTokens = u.getLong("output_tokens", 0L);
        }
        case "content_block_start" -> {
          requireStarted(type);
          JsonObject cb = j.getJsonObject("content_block", new JsonObject());
          Block b = new Block(cb.getString("type", "text"), cb.getString("id"), cb.getString("name"));
          blocks.put(j.getInteger("index", blocks.size()), b);
          if (b.type.equals("text") && cb.getValue("text") instanceof String s && !s.isEmpty()) {
            text.append(s);
            onText.accept(s);
          }
        }
        case "content_block_delta" -> {
          requireStarted(type);
          Block b = blocks.get(j.getInteger("index", -1));
          if (b == null) {
            throw malformed("a content_block_delta from " + model.label() + " names no started block");
          }
          JsonObject d = j.getJsonObject("delta", new JsonObject());
          switch (d.getString("type", "")) {
            case "text_delta" -> {
              String s = d.getString("text", "");
              if (!s.isEmpty()) {
                text.append(s);
                onText.accept(s);
              }
            }
            case "input_json_delta" -> b.json.append(d.getString("partial_json", ""));
            default -> {
              // thinking and signature deltas are not shown
            }
          }
        }
        case "content_block_stop" -> requireStarted(type);
        case "message_delta" -> {
          JsonObject d = j.getJsonObject("delta", new JsonObject());
          if (d.getValue("stop_reason") instanceof String s) {
            stopReason = s;
          }
          JsonObject u = j.getJsonObject("usage", new JsonObject());
          if (u.getValue("output_tokens") instanceof Number n) {
            outputTokens = n.longValue();
            outputReported = true;
          }
        }
        case "message_stop" -> stopped = true;
        case "error" -> throw ErrorClassifier.streamed(model.provider(), model.model(),
            j.getJsonObject("error", new JsonObject()), model.apiKeys());
        default -> {
          // ping and future event types
        }
      }
    }

    private void requireStarted(String type) {
      if (!started) {
        throw malformed(type + " from " + model.label() + " before message_start");
      }
    }

    ModelReply finish() {
      if (!stopped) {
        throw ModelFailure.of(FailureKind.NETWORK, "the stream from " + model.label()
            + " ended before message_stop", model.provider(), model.model());
      }
      if ("refusal".equals(stopReason)) {
        throw ModelFailure.of(FailureKind.REFUSAL, "the model refused to answer", model.provider(), model.model());
      }
      List<ToolCall> calls = new ArrayList<>();
      for (Block b : blocks.values()) {
        if (b.type.equals("tool_use")) {
          if (b.id == null || b.name == null) {
            throw malformed("a tool_use block from " + model.label() + " has no id or name");
          }
          calls.add(ToolCall.parse(b.id, b.name, b.json.toString()));
        }
      }
      Usage usage = new Usage(inputTokens + cacheRead + cacheWrite, outputTokens, cacheRead, cacheWrite, false);
      String stop = !calls.isEmpty() ? "tool_use" : "max_tokens".equals(stopReason) ? "length" : "stop";
      return new ModelReply(text.toString(), stop, usage, model.provider(), model.model(), calls);
    }

    /**
     * What the call used so far, for a failure. message_start reports the prompt (with cache reads
     * and writes); the output count comes only at the end, so until then it is estimated from what
     * was streamed, and flagged so. Nothing before message_start (an error event that comes first,
     * such as overloaded_error, means the prompt was never taken).
     */
    Usage spent() {
      if (!started) {
        return Usage.NONE;
      }
      int outputChars = text.length();
      for (Block b : blocks.values()) {
        outputChars += b.json.length();
      }
      long estimatedOutput = Tokens.estimate(outputChars);
      long output = outputReported ? outputTokens : Math.max(outputTokens, estimatedOutput);
      return new Usage(inputTokens + cacheRead + cacheWrite, output, cacheRead, cacheWrite, !outputReported);
    }

    private ModelFailure malformed(String message) {
      return ModelFailure.of(FailureKind.MALFORMED, message, model.provider(), model.model());
    }
  }

  private static final class Block {
    final String type;
    final String id;
    final String name;
    final StringBuilder json = new StringBuilder();

    Block(String type, String id, String name) {
      this.type = type;
      this.id = id;
      this.name = name;
    }
  }
}
