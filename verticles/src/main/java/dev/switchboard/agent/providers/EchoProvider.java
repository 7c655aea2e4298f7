package dev.switchboard.agent.providers;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.ChatMessage;
import dev.switchboard.agent.ModelCall;
import dev.switchboard.agent.ModelProvider;
import dev.switchboard.agent.ModelReply;
import dev.switchboard.agent.Tokens;
import dev.switchboard.agent.Usage;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The built-in model: answers {@code echo: <the user's message>}, streamed in chunks of a few words,
 * so a fresh install answers at once and streaming is visible end to end. It never calls tools.
 * Options: {@code chunkWords} (words per chunk, default 2) and {@code chunkDelayMs} (pause between
 * chunks, default 20; 0 streams without pauses). Usage is estimated from the text length.
 */
public final class EchoProvider implements ModelProvider {
  private final Vertx vertx;

  EchoProvider(Vertx vertx) {
    this.vertx = vertx;
  }

  @Override
  public String api() {
    return "echo";
  }

  @Override
  public JsonObject requestBody(ModelConfig model, ModelCall call) {
    JsonArray messages = new JsonArray();
    for (ChatMessage m : call.messages()) {
      messages.add(new JsonObject().put("role", m.role()).put("text", m.text()));
    }
    return new JsonObject().put("model", model.model()).put("system", call.system()).put("messages", messages);
  }

  @Override
  public Future<ModelReply> complete(ModelConfig model, Secret apiKey, ModelCall call, Consumer<String> onText,
      AbortSignal signal) {
    String text = "echo: " + call.lastUserText();
    int words = Math.max(1, model.options().getInteger("chunkWords", 2));
    long delay = Math.max(0, model.options().getLong("chunkDelayMs", 20L));
    List<String> chunks = chunks(text, words);
    Usage usage = new Usage(Math.max(1, call.estimatedTokens()), Math.max(1, Tokens.estimate(text)), 0, true);
    ModelReply reply = new ModelReply(text, "stop", usage, "echo", model.model(), List.of());
    Promise<ModelReply> done = Promise.promise();
    AbortSignal.Registration onAbort = signal.onAbort(() -> done.tryFail(new AbortSignal.Aborted(signal.reason())));
    emit(chunks, 0, delay, onText, signal, done, reply);
    return done.future().onComplete(x -> onAbort.remove());
  }

  private void emit(List<String> chunks, int i, long delay, Consumer<String> onText, AbortSignal signal,
      Promise<ModelReply> done, ModelReply reply) {
    while (i < chunks.size() && !signal.aborted()) {
      onText.accept(chunks.get(i));
      i++;
      if (delay > 0 && i < chunks.size()) {
        int next = i;
        vertx.setTimer(delay, t -> emit(chunks, next, delay, onText, signal, done, reply));
        return;
      }
    }
    if (!signal.aborted()) {
      done.tryComplete(reply);
    }
  }

  /** Splits after every {@code words}-th word; the pieces concatenate to exactly {@code text}. */
  static List<String> chunks(String text, int words) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int seen = 0;
    for (int i = 1; i < text.length(); i++) {
      if (Character.isWhitespace(text.charAt(i)) && !Character.isWhitespace(text.charAt(i - 1))) {
        seen++;
        if (seen == words) {
          out.add(text.substring(start, i));
          start = i;
          seen = 0;
        }
      }
    }
    out.add(text.substring(start));
    return out;
  }
}
