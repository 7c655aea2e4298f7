package dev.switchboard.gateway;

import dev.switchboard.auth.OperatorToken;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.Readiness;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceLoader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: every workspace found under {@code workspacesDir}, each deployed on its own
 * port. A workspace that cannot be loaded or started is reported with its problems; the others
 * start and serve regardless.
 */
public final class Gateway {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  private final Vertx vertx;
  private final GatewayConfig config;
  private final Secret token;
  private final List<WorkspaceDeployer.Deployed> deployed;
  private final List<WorkspaceLoader.Found> failed;

  private Gateway(Vertx vertx, GatewayConfig config, Secret token, List<WorkspaceDeployer.Deployed> deployed,
      List<WorkspaceLoader.Found> failed) {
    this.vertx = vertx;
    this.config = config;
    this.token = token;
    this.deployed = deployed;
    this.failed = failed;
  }

  public List<WorkspaceDeployer.Deployed> workspaces() {
    return deployed;
  }

  /** Workspaces that were found but could not start, with their problems. */
  public List<WorkspaceLoader.Found> failed() {
    return failed;
  }

  public Secret token() {
    return token;
  }

  public GatewayConfig config() {
    return config;
  }

  /** Loads, validates and deploys every workspace. Fails only when nothing could be started at all. */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, Map<String, String> env) {
    Readiness.update(vertx, j -> new JsonObject().put("ready", false).put("workspaces", new JsonObject()));
    return vertx.executeBlocking(() -> {
      Secret token = OperatorToken.resolve(config.token(), config.dataDir());
      List<WorkspaceLoader.Found> found = WorkspaceLoader.load(config.root(), config.workspacesDir(),
          config.portOffset(), env);
      return new Object[] {token, found};
    }).compose(r -> {
      Secret token = (Secret) r[0];
      @SuppressWarnings("unchecked")
      List<WorkspaceLoader.Found> found = (List<WorkspaceLoader.Found>) r[1];
      return deployAll(vertx, config, token, found, env);
    });
  }

  private static Future<Gateway> deployAll(Vertx vertx, GatewayConfig config, Secret token,
      List<WorkspaceLoader.Found> found, Map<String, String> env) {
    JsonObject gatewayJson = new JsonObject()
        .put("gatewayId", config.gatewayId())
        .put("host", config.host())
        .put("webroot", config.webroot().toString())
        .put("websocket", config.websocket())
        .put("shutdownGraceMs", Math.max(0, config.shutdownTimeoutMs() - 2_000));
    List<WorkspaceLoader.Found> failed = new ArrayList<>();
    List<Future<WorkspaceDeployer.Deployed>> starting = new ArrayList<>();
    for (WorkspaceLoader.Found f : found) {
      if (!f.ok()) {
        reportProblems(vertx, f.id(), f.problems());
        failed.add(f);
        continue;
      }
      WorkspaceConfig ws = f.config();
      ws.warnings().forEach(w -> LOG.warn("{}", w));
      starting.add(WorkspaceDeployer.deploy(vertx, ws, config.database(), gatewayJson, token, env)
          .onFailure(err -> {
            List<ConfigProblem> problems = err instanceof dev.switchboard.config.ConfigException ce ? ce.problems()
                : List.of(new ConfigProblem("workspace " + ws.id(), describe(err)));
            reportProblems(vertx, ws.id(), problems);
            failed.add(new WorkspaceLoader.Found(ws.id(), ws.dir(), null, problems));
          }));
    }
    return Future.join(starting).transform(x -> {
      List<WorkspaceDeployer.Deployed> up = new ArrayList<>();
      starting.stream().filter(Future::succeeded).forEach(f -> up.add(f.result()));
      if (up.isEmpty()) {
        return Future.failedFuture(new IllegalStateException(found.isEmpty()
            ? "no workspaces found under " + config.workspacesDir() + " (each needs <id>/workspace.json)"
            : "no workspace could be started"));
      }
      Readiness.ready(vertx, true);
      return Future.succeededFuture(new Gateway(vertx, config, token, up, failed));
    });
  }

  private static void reportProblems(Vertx vertx, String id, List<ConfigProblem> problems) {
    LOG.error("workspace {} was not started:", id);
    problems.forEach(p -> LOG.error("  {}", p));
    JsonArray list = new JsonArray();
    problems.forEach(p -> list.add(p.toString()));
    Readiness.update(vertx, j -> j.put("workspaces", j.getJsonObject("workspaces", new JsonObject()).put(id, "failed"))
        .put("problems", j.getJsonObject("problems", new JsonObject()).put(id, list)));
  }

  private static String describe(Throwable err) {
    String m = err.getMessage();
    if (err instanceof io.vertx.core.VertxException && err.getCause() != null) {
      m = err.getCause().getMessage();
    }
    if (m != null && m.contains("Database may be already in use")) {
      return "the embedded database is in use by another process (is another gateway running on the same dataDir?)";
    }
    if (m != null && (m.contains("Address already in use") || m.contains("BindException"))) {
      return "its port is already in use (" + m + ")";
    }
    return err.getClass().getSimpleName() + ": " + m;
  }

  /** Undeploys every workspace (each tells its clients and lets running turns end), bounded by the shutdown timeout. */
  public Future<Void> stop() {
    Readiness.ready(vertx, false);
    List<Future<Void>> stopping = new ArrayList<>();
    for (WorkspaceDeployer.Deployed d : deployed) {
      stopping.add(d.undeploy());
    }
    return Future.join(stopping).mapEmpty();
  }

  /** The webchat URL of a workspace; the token travels in the fragment, which browsers never send. */
  public String url(WorkspaceDeployer.Deployed d) {
    String host = config.host().equals("0.0.0.0") || config.host().equals("::") ? "127.0.0.1" : config.host();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return "http://" + host + ":" + d.port() + "/#token=" + token.reveal();
  }
}
