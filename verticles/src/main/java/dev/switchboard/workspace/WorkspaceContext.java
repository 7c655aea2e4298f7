package dev.switchboard.workspace;

import dev.switchboard.config.ConfigReader;
import dev.switchboard.config.Secret;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What every verticle of one workspace shares, rebuilt by each verticle from its deployment config
 * (so verticles can be deployed from JSON alone).
 *
 * @param config   the workspace's parsed configuration
 * @param database how to reach the database
 * @param schema   the workspace's own schema
 * @param gateway  process-wide settings the workspace needs (gateway id, websocket limits, webroot)
 * @param token    the operator token
 */
public record WorkspaceContext(WorkspaceConfig config, DatabaseConfig database, String schema,
    JsonObject gateway, Secret token) {

  /**
   * Builds the deployment config that {@link #from} reads back. {@code env} is the environment the
   * workspace was loaded with; the variables its {@code ${env:NAME}} references name travel along,
   * so every verticle resolves the workspace's secrets exactly as the loader did.
   */
  public static JsonObject deploymentConfig(WorkspaceConfig ws, DatabaseConfig db, JsonObject gateway,
      Secret token, Map<String, String> env) {
    JsonObject secretEnv = new JsonObject();
    for (String name : ConfigReader.secretReferences(ws.raw())) {
      if (env.get(name) != null) {
        secretEnv.put(name, env.get(name));
      }
    }
    return new JsonObject()
        .put("workspaceId", ws.id())
        .put("workspaceDir", ws.dir().toString())
        .put("workspace", ws.raw())
        .put("database", db.toJson())
        .put("gateway", gateway)
        .put("token", token.reveal())
        .put("tokenOrigin", token.origin())
        .put("secretEnv", secretEnv);
  }

  public static WorkspaceContext from(JsonObject deployment) {
    JsonObject secretEnv = deployment.getJsonObject("secretEnv");
    if (secretEnv == null) {
      return from(deployment, System.getenv());
    }
    Map<String, String> env = new HashMap<>();
    secretEnv.forEach(e -> env.put(e.getKey(), String.valueOf(e.getValue())));
    return from(deployment, env);
  }

  public static WorkspaceContext from(JsonObject deployment, Map<String, String> env) {
    String id = deployment.getString("workspaceId");
    Path dir = Path.of(deployment.getString("workspaceDir"));
    WorkspaceConfig ws = WorkspaceConfig.parse(id, dir, deployment.getJsonObject("workspace"),
        dir.resolve("workspace.json").toString(), env);
    DatabaseConfig db = DatabaseConfig.fromJson(deployment.getJsonObject("database"));
    return new WorkspaceContext(ws, db, db.workspaceSchema(id), deployment.getJsonObject("gateway"),
        Secret.of(deployment.getString("token"), deployment.getString("tokenOrigin", "token")));
  }

  public String id() {
    return config.id();
  }

  public WorkspaceBus bus(Vertx vertx) {
    return new WorkspaceBus(vertx.eventBus(), config.id());
  }

  /** The workspace's shared pool (one per schema, per Vert.x instance). */
  public Pool pool(Vertx vertx) {
    return Database.pool(vertx, database, schema);
  }
}
