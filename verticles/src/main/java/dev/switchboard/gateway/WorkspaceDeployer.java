package dev.switchboard.gateway;

import dev.switchboard.config.Secret;
import dev.switchboard.channels.http.HttpChannelVerticle;
import dev.switchboard.channels.telegram.TelegramChannelVerticle;
import dev.switchboard.delivery.DeliveryVerticle;
import dev.switchboard.http.HttpVerticle;
import dev.switchboard.lanes.LaneVerticle;
import dev.switchboard.memory.MemoryVerticle;
import dev.switchboard.routing.RoutingVerticle;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.workspace.Readiness;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deploys one workspace as its own verticle set: migrates its schema, then starts memory, delivery,
 * lanes, routing and HTTP, downstream first so every consumer exists before anything upstream
 * sends to it. Undeploys in the reverse order.
 */
public final class WorkspaceDeployer {
  private static final Logger LOG = LoggerFactory.getLogger(WorkspaceDeployer.class);

  /** The channel adapters this build ships, by channel name (webchat lives in the HTTP verticle). */
  static final Map<String, Supplier<VerticleBase>> CHANNEL_ADAPTERS = Map.of(
      HttpChannelVerticle.CHANNEL, HttpChannelVerticle::new,
      TelegramChannelVerticle.CHANNEL, TelegramChannelVerticle::new);

  private WorkspaceDeployer() {
  }

  /** A deployed workspace: its verticles (in deployment order) and the port it serves. */
  public static final class Deployed {
    private final Vertx vertx;
    private final WorkspaceConfig config;
    private final List<String> deploymentIds;
    private final HttpVerticle http;

    Deployed(Vertx vertx, WorkspaceConfig config, List<String> deploymentIds, HttpVerticle http) {
      this.vertx = vertx;
      this.config = config;
      this.deploymentIds = deploymentIds;
      this.http = http;
    }

    public WorkspaceConfig config() {
      return config;
    }

    public int port() {
      return http.actualPort();
    }

    /** Stops the HTTP front first (clients are told), then routing, lanes, delivery and memory. */
    public Future<Void> undeploy() {
      Readiness.workspace(vertx, config.id(), "stopping");
      List<String> reversed = new ArrayList<>(deploymentIds);
      Collections.reverse(reversed);
      Future<Void> chain = Future.succeededFuture();
      for (String id : reversed) {
        chain = chain.compose(v -> vertx.undeploy(id).recover(err -> {
          LOG.warn("workspace {}: undeploying {} failed: {}", config.id(), id, err.toString());
          return Future.succeededFuture();
        }));
      }
      return chain;
    }
  }

  public static Future<Deployed> deploy(Vertx vertx, WorkspaceConfig ws, DatabaseConfig db, JsonObject gateway,
      Secret token, Map<String, String> env) {
    Readiness.workspace(vertx, ws.id(), "starting");
    JsonObject config = WorkspaceContext.deploymentConfig(ws, db, gateway, token, env);
    DeploymentOptions options = new DeploymentOptions().setConfig(config);
    List<String> ids = new ArrayList<>();
    HttpVerticle http = new HttpVerticle();
    List<Supplier<VerticleBase>> order = new ArrayList<>(List.of(MemoryVerticle::new, DeliveryVerticle::new,
        LaneVerticle::new, RoutingVerticle::new));
    // channel adapters hand messages to routing and serve delivery: after both, before the HTTP front
    for (String channel : ws.channels().fieldNames()) {
      Supplier<VerticleBase> adapter = CHANNEL_ADAPTERS.get(channel);
      if (adapter != null) {
        order.add(adapter);
      } else if (!channel.equals("webchat")) {
        LOG.warn("workspace {}: this build has no adapter for channel \"{}\"; its accounts only get what other"
            + " components hand in", ws.id(), channel);
      }
    }
    order.add(() -> http);
    Future<Void> chain = Database.migrate(vertx, db, db.workspaceSchema(ws.id())).mapEmpty();
    for (Supplier<VerticleBase> next : order) {
      chain = chain.compose(v -> vertx.deployVerticle(next.get(), options).map(id -> {
        ids.add(id);
        return null;
      }));
    }
    Deployed deployed = new Deployed(vertx, ws, ids, http);
    return chain
        .map(v -> {
          Readiness.workspace(vertx, ws.id(), "ready");
          return deployed;
        })
        .recover(err -> deployed.undeploy().transform(x -> {
          Readiness.workspace(vertx, ws.id(), "failed");
          return Future.failedFuture(err);
        }));
  }
}
