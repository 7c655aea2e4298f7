package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.GatewayProcess;
import dev.switchboard.support.ProtocolClient;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar with the shipped conf/ and example workspaces, as a user runs it. */
@Timeout(180)
class GatewayProcessIT {
  static Vertx vertx;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("the jar serves both example workspaces, prints token URLs as fragments, stops on SIGTERM and resumes history")
  void runsStopsAndRestarts(@TempDir Path tmp) throws Exception {
    Path root = GatewayProcess.copyRepositoryLayout(tmp);
    Map<String, String> env = Map.of("SWITCHBOARD_PORT_OFFSET", Integer.toString(GatewayProcess.freePortOffset()));
    String token;
    int mainPort;
    try (GatewayProcess gw = GatewayProcess.start(root, env, Duration.ofSeconds(60))) {
      Map<String, String> urls = gw.urls();
      assertThat(urls).containsOnlyKeys("main", "team");
      for (String url : urls.values()) {
        URI u = URI.create(url);
        assertThat(u.getQuery()).isNull();
        assertThat(u.getFragment()).startsWith("token=");
      }
      token = URI.create(urls.get("main")).getFragment().substring("token=".length());
      mainPort = URI.create(urls.get("main")).getPort();
      int teamPort = URI.create(urls.get("team")).getPort();
      assertThat(teamPort).isEqualTo(mainPort + 1);
      // the token was generated on first start and kept under data/
      assertThat(root.resolve("data/operator-token")).content().isEqualToIgnoringNewLines(token);

      WebClient web = WebClient.create(vertx);
      var page = web.get(mainPort, "127.0.0.1", "/").send().await(10, TimeUnit.SECONDS);
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.bodyAsString()).contains("<title>Switchboard webchat</title>");
      for (int port : new int[] {mainPort, teamPort}) {
        var health = web.get(port, "127.0.0.1", "/health").send().await(10, TimeUnit.SECONDS);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.bodyAsJsonObject().getString("status")).isEqualTo("ok");
        var ready = web.get(port, "127.0.0.1", "/ready").send().await(10, TimeUnit.SECONDS);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.bodyAsJsonObject().getJsonObject("workspaces"))
            .isEqualTo(new JsonObject().put("main", "ready").put("team", "ready"));
      }
      web.close();

      try (ProtocolClient main = ProtocolClient.connect(vertx, mainPort, token);
          ProtocolClient team = ProtocolClient.connect(vertx, teamPort, token)) {
        assertThat(text(main.chat("main", "hello main [in:P1]"))).isEqualTo("echo: hello main [in:P1]");
        assertThat(text(team.chat("main", "hello team [in:P2]"))).isEqualTo("echo: hello team [in:P2]");
        // clients hear the gateway go: shutdown event, then close 1012
        int exit = gw.terminate(Duration.ofSeconds(30));
        assertThat(exit).isIn(0, 143);
        assertThat(main.awaitEvent("shutdown", p -> true).getString("reason")).isEqualTo("gateway stopping");
        assertThat(main.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1012);
      }
      assertThat(gw.stderr()).noneMatch(l -> l.contains(token));
    }
    try (GatewayProcess gw = GatewayProcess.start(root, env, Duration.ofSeconds(60));
        ProtocolClient main = ProtocolClient.connect(vertx, mainPort, token)) {
      JsonObject history = main.call("chat.history", new JsonObject().put("sessionKey", "main"));
      assertThat(history.getJsonArray("messages")).hasSize(2);
      gw.terminate(Duration.ofSeconds(30));
    }
  }

  static String text(JsonObject chatEnd) {
    return chatEnd.getJsonObject("message").getJsonArray("content").getJsonObject(0).getString("text");
  }
}
