package dev.switchboard.agent;

import dev.switchboard.config.Secret;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.function.Consumer;

/**
 * A model API behind one non-blocking interface. Implementations stream: every piece of answer text
 * is passed to {@code onText} as it arrives, tool calls are assembled from their streamed pieces,
 * and the returned future completes with the whole reply, or fails with a classified
 * {@link ModelFailure}. When {@code signal} fires they stop and fail with {@link AbortSignal.Aborted}.
 */
public interface ModelProvider {
  /** The wire format: {@code openai}, {@code anthropic} or {@code echo}. */
  String api();

  /** The request body this provider sends for {@code call} (what the model sees; no credentials). */
  JsonObject requestBody(ModelConfig model, ModelCall call);

  /**
   * One streaming call.
   *
   * @param apiKey the key to send, or null for servers that need none
   */
  Future<ModelReply> complete(ModelConfig model, Secret apiKey, ModelCall call, Consumer<String> onText,
      AbortSignal signal);
}
