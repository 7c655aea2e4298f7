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
  /** Connections per model host when nothing says more: enough for the default turn caps. */
  public static final int DEFAULT_CONNECTIONS_PER_HOST = 32;

  private final Vertx vertx;
  private final int connectionsPerHost;
  private final EchoProvider echo;
  private final OpenAiProvider openai;
  private final AnthropicProvider anthropic;
  private HttpClient client;

  public ModelProviders(Vertx vertx) {
    this(vertx, DEFAULT_CONNECTIONS_PER_HOST);
  }

  /**
   * @param connectionsPerHost streaming calls open at once to one model host. Each running turn
   *     makes at most one call at a time, so the workspace sizes this from its turn caps: a smaller
   *     pool would make turns the lane counts as running wait, unseen, for a connection.
   */
  public ModelProviders(Vertx vertx, int connectionsPerHost) {
    this.vertx = vertx;
    if (connectionsPerHost < 1) {
      throw new IllegalArgumentException("connectionsPerHost must be at least 1");
    }
    this.connectionsPerHost = connectionsPerHost;
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
          new PoolOptions().setHttp1MaxSize(connectionsPerHost));
    }
    return client;
  }

  public Future<Void> close() {
    return client == null ? Future.succeededFuture() : client.close();
  }
}
