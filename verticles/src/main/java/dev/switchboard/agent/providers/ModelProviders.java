package dev.switchboard.agent.providers;

import dev.switchboard.agent.ModelProvider;
import dev.switchboard.workspace.ModelConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;

/**
 * The providers one workspace component uses, sharing one HTTP client (created on the first real
 * call, so a component that only renders requests, like the context inspector, opens no sockets).
 */
public final class ModelProviders {
  private final Vertx vertx;
  private final EchoProvider echo;
  private final OpenAiProvider openai;
  private final AnthropicProvider anthropic;
  private HttpClient client;

  public ModelProviders(Vertx vertx) {
    this.vertx = vertx;
    StreamingHttp http = new StreamingHttp(vertx, this::client);
    this.echo = new EchoProvider(vertx);
    this.openai = new OpenAiProvider(http);
    this.anthropic = new AnthropicProvider(http);
  }

  /** The provider speaking {@code model}'s wire format. */
  public ModelProvider forModel(ModelConfig model) {
    return switch (model.api()) {
      case "echo" -> echo;
      case "anthropic" -> anthropic;
      default -> openai;
    };
  }

  private HttpClient client() {
    if (client == null) {
      client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setDecompressionSupported(true),
          new PoolOptions().setHttp1MaxSize(32));
    }
    return client;
  }

  public Future<Void> close() {
    return client == null ? Future.succeededFuture() : client.close();
  }
}
