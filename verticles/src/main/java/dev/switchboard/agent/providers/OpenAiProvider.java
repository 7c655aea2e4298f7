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
 * OpenAI Chat Completions with streaming ({@code POST <baseUrl>/chat/completions}, {@code stream: true}),
 * and every server that speaks it: Ollama, llama.cpp's server and vLLM by base URL. Text arrives in
 * {@code choices[0].delta.content}; tool calls arrive as {@code delta.tool_calls[]} pieces keyed by
 * {@code index} (the id and name first, the JSON arguments in fragments) and are put together here;
 * usage comes in a last chunk with empty {@code choices} ({@code stream_options.include_usage}).
 */
public final class OpenAiProvider implements ModelProvider {
  /** Request fields the gateway owns; {@code options} cannot override them. */
  private static final Set<String> RESERVED = Set.of("model", "messages", "stream", "stream_options", "tools");

  private final StreamingHttp http;

  OpenAiProvider(StreamingHttp http) {
    this.http = http;
  }

  @Override
  public String api() {
    return "openai";
  }

  @Override
  public JsonObject requestBody(ModelConfig model, ModelCall call) {
    JsonArray messages = new JsonArray();
    if (!call.system().isEmpty()) {
      messages.add(new JsonObject().put("role", "system").put("content", call.system()));
    }
    for (ChatMessage m : call.messages()) {
      switch (m.role()) {
        case ChatMessage.USER -> messages.add(new JsonObject().put("role", "user").put("content", m.text()));
        case ChatMessage.ASSISTANT -> {
          JsonObject a = new JsonObject().put("role", "assistant")
              .put("content", m.text().isEmpty() && !m.toolCalls().isEmpty() ? null : m.text());
          if (!m.toolCalls().isEmpty()) {
            JsonArray calls = new JsonArray();
            for (ToolCall c : m.toolCalls()) {
              calls.add(new JsonObject().put("id", c.id()).put("type", "function")
                  .put("function", new JsonObject().put("name", c.name()).put("arguments", c.rawArguments())));
            }
            a.put("tool_calls", calls);
          }
          messages.add(a);
        }
        case ChatMessage.TOOL -> messages.add(new JsonObject().put("role", "tool")
            .put("tool_call_id", m.toolCallId()).put("content", m.text()));
        default -> throw new IllegalArgumentException("unknown role " + m.role());
      }
    }
    JsonObject body = new JsonObject().put("model", model.model()).put("messages", messages).put("stream", true)
        .put("stream_options", new JsonObject().put("include_usage", true));
    if (!call.tools().isEmpty()) {
      JsonArray tools = new JsonArray();
      for (ToolSpec t : call.tools()) {
        tools.add(new JsonObject().put("type", "function").put("function", new JsonObject().put("name", t.name())
            .put("description", t.description()).put("parameters", t.parameters())));
      }
      body.put("tools", tools);
    }
    if (model.maxTokens() != null) {
      // OpenAI's own API renamed the field; compatible servers still read max_tokens
      body.put(model.provider().equals("openai") ? "max_completion_tokens" : "max_tokens", model.maxTokens());
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
        .add("accept", "text/event-stream");
    if (apiKey != null) {
      headers.add("authorization", "Bearer " + apiKey.reveal());
    }
    Stream stream = new Stream(model, call, onText);
    return http.postEventStream(model, model.effectiveBaseUrl() + "/chat/completions", headers,
            Buffer.buffer(requestBody(model, call).encode()), signal, stream::onEvent)
        .map(v -> stream.finish())
        .recover(err -> Future.failedFuture(StreamingHttp.spent(err, stream.spent())));
  }

  /** The state of one streamed answer. */
  private static final class Stream {
    final ModelConfig model;
    final ModelCall call;
    final Consumer<String> onText;
    final StringBuilder text = new StringBuilder();
    final StringBuilder refusal = new StringBuilder();
    final TreeMap<Integer, PartialCall> calls = new TreeMap<>();
    String finishReason;
    Usage usage;
    boolean done;
    /** A chunk with choices or usage arrived: the model took the prompt (it is paid for from here on). */
    boolean received;

    Stream(ModelConfig model, ModelCall call, Consumer<String> onText) {
      this.model = model;
      this.call = call;
      this.onText = onText;
    }

    void onEvent(SseParser.Event e) {
      String data = e.data().strip();
      if (data.equals("[DONE]")) {
        done = true;
        return;
      }
      JsonObject chunk;
      try {
        chunk = Json.decodeValue(data) instanceof JsonObject o ? o : null;
      } catch (DecodeException ex) {
        chunk = null;
      }
      if (chunk == null) {
        throw ModelFailure.of(FailureKind.MALFORMED, "a stream event from " + model.label() + " is not a JSON object",
            model.provider(), model.model());
      }
      if (chunk.getValue("error") instanceof JsonObject err) {
        throw ErrorClassifier.streamed(model.provider(), model.model(), err, model.apiKeys());
      }
      received |= chunk.containsKey("choices") || chunk.containsKey("usage");
      if (chunk.getValue("usage") instanceof JsonObject u) {
        JsonObject details = u.getJsonObject("prompt_tokens_details", new JsonObject());
        usage = new Usage(u.getLong("prompt_tokens", 0L), u.getLong("completion_tokens", 0L),
            details.getLong("cached_tokens", 0L));
      }
      JsonArray choices = chunk.getJsonArray("choices", new JsonArray());
      for (int i = 0; i < choices.size(); i++) {
        JsonObject choice = choices.getJsonObject(i);
        if (choice.getInteger("index", 0) != 0) {
          continue; // n = 1: only the first choice is ever asked for
        }
        JsonObject delta = choice.getJsonObject("delta", new JsonObject());
        if (delta.getValue("content") instanceof String s && !s.isEmpty()) {
          text.append(s);
          onText.accept(s);
        }
        if (delta.getValue("refusal") instanceof String s) {
          refusal.append(s);
        }
        if (delta.getValue("tool_calls") instanceof JsonArray pieces) {
          for (int k = 0; k < pieces.size(); k++) {
            toolCallPiece(pieces.getJsonObject(k));
          }
        }
        if (choice.getValue("finish_reason") instanceof String f) {
          finishReason = f;
        }
      }
    }

    private void toolCallPiece(JsonObject piece) {
      String id = piece.getValue("id") instanceof String s && !s.isEmpty() ? s : null;
      Integer index = piece.getInteger("index");
      if (index == null) {
        // servers that omit the index (Ollama sends whole calls): a new id starts a new call
        PartialCall last = calls.isEmpty() ? null : calls.lastEntry().getValue();
        boolean next = last != null && id != null && last.id != null && !last.id.equals(id);
        index = last == null ? 0 : next ? calls.lastKey() + 1 : calls.lastKey();
      }
      PartialCall c = calls.computeIfAbsent(index, k -> new PartialCall());
      if (id != null) {
        c.id = id;
      }
      JsonObject fn = piece.getJsonObject("function", new JsonObject());
      if (fn.getValue("name") instanceof String n && !n.isEmpty() && c.name.length() == 0) {
        c.name.append(n); // sent once; some servers repeat it in later pieces
      }
      if (fn.getValue("arguments") instanceof String a) {
        c.arguments.append(a);
      }
    }

    ModelReply finish() {
      if (!done && finishReason == null) {
        throw ModelFailure.of(FailureKind.NETWORK, "the stream from " + model.label()
            + " ended before the answer was complete", model.provider(), model.model());
      }
      if (refusal.length() > 0 || "content_filter".equals(finishReason)) {
        throw ModelFailure.of(FailureKind.REFUSAL, refusal.length() > 0 ? "the model refused: " + clip(refusal)
            : "the provider's content filter stopped the answer", model.provider(), model.model());
      }
      List<ToolCall> toolCalls = new ArrayList<>();
      int n = 0;
      for (PartialCall c : calls.values()) {
        n++;
        if (c.name.length() == 0) {
          throw ModelFailure.of(FailureKind.MALFORMED, "a streamed tool call from " + model.label() + " has no name",
              model.provider(), model.model());
        }
        toolCalls.add(ToolCall.parse(c.id != null ? c.id : "call_" + n, c.name.toString(), c.arguments.toString()));
      }
      Usage u = usage != null ? usage : estimatedUsage();
      String stop = !toolCalls.isEmpty() ? "tool_use" : "length".equals(finishReason) ? "length" : "stop";
      return new ModelReply(text.toString(), stop, u, model.provider(), model.model(), toolCalls);
    }

    /**
     * What the call used so far, for a failure: the reported usage if it came (it comes last), else
     * an estimate (prompt, and what was streamed), flagged so. Nothing before the first event.
     */
    Usage spent() {
      return !received ? Usage.NONE : usage != null ? usage : estimatedUsage();
    }

    private Usage estimatedUsage() {
      int outputChars = text.length() + refusal.length();
      for (PartialCall c : calls.values()) {
        outputChars += c.name.length() + c.arguments.length();
      }
      return new Usage(call.estimatedTokens(), Tokens.estimate(outputChars), 0, true);
    }

    private static String clip(CharSequence s) {
      return s.length() <= 300 ? s.toString() : s.subSequence(0, 300) + "…";
    }
  }

  /** A tool call being put together from its streamed pieces. */
  private static final class PartialCall {
    String id;
    final StringBuilder name = new StringBuilder();
    final StringBuilder arguments = new StringBuilder();
  }
}
