package dev.switchboard.support;

import dev.switchboard.gateway.Gateway;
import dev.switchboard.gateway.GatewayConfig;
import dev.switchboard.gateway.WorkspaceDeployer;
import dev.switchboard.store.DatabaseConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real gateway in the test JVM: workspaces written into a temporary root, real HTTP and WebSocket
 * servers on free loopback ports, a real database.
 */
public final class TestGateway implements AutoCloseable {
  public static final String TOKEN = "test-operator-token-0123456789";

  private final Vertx vertx;
  private final Path root;
  private final DatabaseConfig db;
  private final boolean owned;
  private Gateway gateway;

  private TestGateway(Vertx vertx, Path root, DatabaseConfig db, boolean owned) {
    this.vertx = vertx;
    this.root = root;
    this.db = db;
    this.owned = owned;
  }

  /** A root with no workspaces yet; add them with {@link #workspace}, then {@link #start()}. */
  public static TestGateway in(Vertx vertx, Path root, DatabaseConfig db) {
    return new TestGateway(vertx, root, db, false);
  }

  /**
   * Like {@link #in}, with a Vert.x instance and an in-memory H2 database of its own, which
   * {@link #close()} releases too (its own instance also means its own failed-auth limiter).
   */
  public static TestGateway standalone(Path root) {
    return new TestGateway(Vertx.vertx(), root, TestDatabases.h2(), true);
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The minimal workspace: port 0 (any free port), the echo model with fast chunks. */
  public static JsonObject echoWorkspace() {
    return new JsonObject().put("port", 0).put("agents", new io.vertx.core.json.JsonArray().add(new JsonObject()
        .put("id", "main").put("default", true)
        .put("model", new JsonObject().put("provider", "echo").put("options", new JsonObject().put("chunkDelayMs", 1)))));
  }

  public TestGateway workspace(String id, JsonObject workspaceJson) {
    return workspaceFile(id, workspaceJson.encodePrettily());
  }

  /** Writes a workspace.json verbatim (also broken ones). */
  public TestGateway workspaceFile(String id, String content) {
    try {
      Path dir = root.resolve("workspaces").resolve(id);
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("workspace.json"), content, StandardCharsets.UTF_8);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path root() {
    return root;
  }

  public DatabaseConfig db() {
    return db;
  }

  public JsonObject gatewayJson() {
    JsonObject database = new JsonObject().put("url", db.url()).put("schemaPrefix", db.schemaPrefix())
        .put("poolSize", db.poolSize());
    if (db.user() != null) {
      database.put("user", db.user());
    }
    if (db.password() != null) {
      database.put("password", db.password().reveal());
    }
    return new JsonObject().put("dataDir", root.resolve("data").toString())
        .put("workspacesDir", root.resolve("workspaces").toString())
        .put("database", database)
        .put("auth", new JsonObject().put("token", TOKEN))
        .put("shutdown", new JsonObject().put("timeoutMs", 5000));
  }

  public TestGateway start() {
    return start(gatewayJson());
  }

  public TestGateway start(JsonObject gatewayJson) {
    return start(gatewayJson, Map.of());
  }

  /** Starts with {@code env} as the environment {@code ${env:NAME}} references resolve against. */
  public TestGateway start(JsonObject gatewayJson, Map<String, String> env) {
    GatewayConfig config = GatewayConfig.fromJson(root, gatewayJson, "gateway.json", env);
    try {
      gateway = Gateway.start(vertx, config, env).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("gateway did not start: " + e.getMessage(), e);
    }
    return this;
  }

  public Gateway gateway() {
    return gateway;
  }

  public int port(String workspaceId) {
    return gateway.workspaces().stream().filter(d -> d.config().id().equals(workspaceId))
        .mapToInt(WorkspaceDeployer.Deployed::port).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("workspace not running: " + workspaceId));
  }

  public ProtocolClient client(String workspaceId) {
    return ProtocolClient.connect(vertx, port(workspaceId), TOKEN);
  }

  /** Stops the workspaces (as a SIGTERM would); the database stays. */
  public void stop() {
    if (gateway != null) {
      try {
        gateway.stop().await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      gateway = null;
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } finally {
      if (owned) {
        TestDatabases.dropSchemas(db);
        try {
          vertx.close().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IllegalStateException("Vert.x did not close", e);
        }
      }
    }
  }
}
