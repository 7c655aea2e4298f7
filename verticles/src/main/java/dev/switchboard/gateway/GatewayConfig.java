package dev.switchboard.gateway;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.ConfigReader;
import dev.switchboard.config.JsonFiles;
import dev.switchboard.config.Secret;
import dev.switchboard.store.DatabaseConfig;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Process-wide settings from {@code conf/gateway.json}, with {@code SWITCHBOARD_*} environment
 * variables on top. Every key is documented in {@code docs/configuration.md}.
 *
 * @param root          directory relative paths are resolved against (the working directory)
 * @param gatewayId     this gateway's name (logs, cluster federation)
 * @param host          interface every workspace binds to
 * @param portOffset    added to every workspace port (run a second gateway beside the first)
 * @param dataDir       where the embedded database and the generated operator token live
 * @param workspacesDir where {@code <id>/workspace.json} folders are found
 * @param webroot       the webchat page; when the folder is missing, the copy inside the jar is served
 * @param database      JDBC settings; no URL means embedded H2 under {@code dataDir}
 * @param token         the operator token, or null to use (or generate) {@code dataDir/operator-token}
 * @param shutdownTimeoutMs how long a graceful stop may wait for running turns and deliveries
 * @param websocket     protocol limits shared by every workspace
 */
public record GatewayConfig(
    Path root,
    String gatewayId,
    String host,
    int portOffset,
    Path dataDir,
    Path workspacesDir,
    Path webroot,
    DatabaseConfig database,
    Secret token,
    long shutdownTimeoutMs,
    JsonObject websocket,
    List<ConfigProblem> warnings) {

  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  /** Environment variables that override a key, as (variable, dotted key) pairs. */
  static final List<String[]> ENV_OVERRIDES = List.of(
      new String[] {"SWITCHBOARD_GATEWAY_ID", "gatewayId"},
      new String[] {"SWITCHBOARD_HOST", "host"},
      new String[] {"SWITCHBOARD_PORT_OFFSET", "portOffset"},
      new String[] {"SWITCHBOARD_DATA_DIR", "dataDir"},
      new String[] {"SWITCHBOARD_WORKSPACES_DIR", "workspacesDir"},
      new String[] {"SWITCHBOARD_WEBROOT", "webroot"},
      new String[] {"SWITCHBOARD_DATABASE_URL", "database.url"},
      new String[] {"SWITCHBOARD_DATABASE_USER", "database.user"},
      new String[] {"SWITCHBOARD_DATABASE_PASSWORD", "database.password"},
      new String[] {"SWITCHBOARD_DATABASE_SCHEMA_PREFIX", "database.schemaPrefix"},
      new String[] {"SWITCHBOARD_DATABASE_POOL_SIZE", "database.poolSize"},
      new String[] {"SWITCHBOARD_TOKEN", "auth.token"},
      new String[] {"SWITCHBOARD_SHUTDOWN_TIMEOUT_MS", "shutdown.timeoutMs"});

  /** Reads {@code file} (which may be absent: every key has a default) and applies {@code env}. */
  public static GatewayConfig load(Path root, Path file, Map<String, String> env) {
    String label = root.relativize(root.resolve(file).toAbsolutePath().normalize()).toString();
    JsonObject json = Files.exists(root.resolve(file))
        ? JsonFiles.readObject(root.resolve(file), label)
        : new JsonObject();
    return fromJson(root, applyEnv(json, env), label, env);
  }

  static JsonObject applyEnv(JsonObject json, Map<String, String> env) {
    JsonObject out = json.copy();
    for (String[] o : ENV_OVERRIDES) {
      String v = env.get(o[0]);
      if (v == null || v.isEmpty()) {
        continue;
      }
      String[] parts = o[1].split("\\.");
      JsonObject target = out;
      for (int i = 0; i < parts.length - 1; i++) {
        JsonObject next = target.getValue(parts[i]) instanceof JsonObject j ? j : new JsonObject();
        target.put(parts[i], next);
        target = next;
      }
      String last = parts[parts.length - 1];
      target.put(last, v.matches("-?\\d{1,18}") && !last.equals("token") && !last.equals("password")
          && !last.equals("gatewayId") ? (Object) Long.parseLong(v) : v);
    }
    return out;
  }

  /** Builds a config from JSON already in memory ({@code label} names it in problems). */
  public static GatewayConfig fromJson(Path root, JsonObject json, String label, Map<String, String> env) {
    ConfigReader r = ConfigReader.root(json, label, env);
    String gatewayId = r.identifier("gatewayId", "local", ID,
        "lower-case letters, digits, '-' or '_' (at most 63)");
    String host = r.string("host", "127.0.0.1");
    int portOffset = r.integer("portOffset", 0, -60000, 60000);
    Path dataDir = root.resolve(r.string("dataDir", "data")).normalize();
    Path workspacesDir = root.resolve(r.string("workspacesDir", "workspaces")).normalize();
    Path webroot = root.resolve(r.string("webroot", "webroot")).normalize();

    ConfigReader db = r.object("database");
    String url = db.string("url", null);
    if (url != null && !url.startsWith("jdbc:h2:") && !url.startsWith("jdbc:postgresql:")) {
      db.problem("url", "must be a jdbc:h2: or jdbc:postgresql: URL, got \"" + url + "\"");
      url = null;
    }
    if (url == null) {
      url = DatabaseConfig.embeddedUrl(dataDir.resolve("switchboard"));
    }
    String user = db.string("user", url.startsWith("jdbc:h2:") ? "sa" : null);
    Secret password = db.secret("password");
    String schemaPrefix = db.identifier("schemaPrefix", "", Pattern.compile("[a-z0-9_]{0,30}"),
        "lower-case letters, digits or '_' (at most 30)");
    int poolSize = db.integer("poolSize", 4, 1, 64);
    db.finish();

    ConfigReader auth = r.object("auth");
    Secret token = auth.secret("token");
    if (token != null && token.reveal().length() < 16) {
      auth.problem("token", "must be at least 16 characters long");
    }
    auth.finish();

    ConfigReader shutdown = r.object("shutdown");
    long shutdownTimeoutMs = shutdown.longValue("timeoutMs", 10_000, 0, 600_000);
    shutdown.finish();

    ConfigReader ws = r.object("websocket");
    JsonObject websocket = new JsonObject()
        .put("maxPayloadBytes", ws.integer("maxPayloadBytes", 25 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024))
        .put("maxBufferedBytes", ws.integer("maxBufferedBytes", 50 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024))
        .put("tickIntervalMs", ws.integer("tickIntervalMs", 30_000, 100, 600_000))
        .put("handshakeTimeoutMs", ws.integer("handshakeTimeoutMs", 15_000, 100, 600_000))
        .put("maxPendingHandshakes", ws.integer("maxPendingHandshakes", 256, 1, 100_000));
    ws.finish();
    r.raw("cluster"); // reserved: clustering settings (off unless enabled)
    r.finish();

    if (!r.problems().isEmpty()) {
      throw new ConfigException(r.problems());
    }
    List<ConfigProblem> warnings = new ArrayList<>(r.warnings());
    return new GatewayConfig(root, gatewayId, host, portOffset, dataDir, workspacesDir, webroot,
        new DatabaseConfig(url, user, password, schemaPrefix, poolSize), token, shutdownTimeoutMs,
        websocket, List.copyOf(warnings));
  }
}
