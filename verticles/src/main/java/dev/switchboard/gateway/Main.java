package dev.switchboard.gateway;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the gateway: reads {@code conf/gateway.json} (or the file given with {@code --config}),
 * deploys every workspace, prints each workspace's webchat URL, and stops gracefully on SIGTERM.
 * Exit codes: 0 stopped normally, 1 could not start, 2 bad configuration or arguments.
 */
public final class Main {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {
  }

  public static void main(String[] args) {
    Path configFile = Path.of("conf", "gateway.json");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-conf", "-c" -> {
          if (i + 1 >= args.length) {
            usage("missing file after " + args[i]);
          }
          configFile = Path.of(args[++i]);
        }
        case "--help", "-h" -> {
          System.out.println("usage: switchboard [--config conf/gateway.json]");
          System.out.println("Environment variables SWITCHBOARD_* override gateway.json; see docs/configuration.md.");
          System.exit(0);
        }
        default -> usage("unknown argument: " + args[i]);
      }
    }
    Map<String, String> env = System.getenv();
    Path root = Path.of(env.getOrDefault("SWITCHBOARD_HOME", ".")).toAbsolutePath().normalize();
    GatewayConfig config;
    try {
      config = GatewayConfig.load(root, configFile, env);
    } catch (ConfigException e) {
      System.err.println("switchboard: the configuration cannot be used:");
      for (ConfigProblem p : e.problems()) {
        System.err.println("  " + p);
      }
      System.exit(2);
      return;
    }
    config.warnings().forEach(w -> LOG.warn("{}", w));

    Vertx vertx = Vertx.vertx(new VertxOptions());
    Gateway gateway;
    try {
      gateway = Gateway.start(vertx, config, env).await(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.error("switchboard could not start: {}", e.getMessage());
      vertx.close();
      System.exit(1);
      return;
    }
    long readyMs = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    StringBuilder out = new StringBuilder();
    out.append("Switchboard ready in ").append(readyMs).append(" ms. Open webchat:\n");
    for (WorkspaceDeployer.Deployed d : gateway.workspaces()) {
      out.append(String.format("  %-12s %s%n", d.config().id(), gateway.url(d)));
    }
    if (!gateway.failed().isEmpty()) {
      out.append("Not started (see the errors above): ");
      gateway.failed().forEach(f -> out.append(f.id()).append(' '));
      out.append('\n');
    }
    System.out.print(out);
    System.out.flush();

    long timeoutMs = config.shutdownTimeoutMs();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping (up to {} ms)", timeoutMs);
      try {
        gateway.stop().await(timeoutMs, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.warn("stop did not finish in time: {}", e.getMessage());
      }
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("closing Vert.x did not finish in time: {}", e.getMessage());
      }
      LOG.info("stopped");
    }, "switchboard-shutdown"));
  }

  private static void usage(String why) {
    System.err.println("switchboard: " + why);
    System.err.println("usage: switchboard [--config conf/gateway.json]");
    System.exit(2);
  }
}
