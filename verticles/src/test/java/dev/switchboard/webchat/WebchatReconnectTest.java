package dev.switchboard.webchat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Browser;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chromium.ChromiumNetworkConditions;

/**
 * The page across a gateway restart: it is told to go (shutdown, 1012), reconnects with backoff
 * to the same port, and catches up with its cursor: what it missed appears once, nothing twice.
 */
@Timeout(180)
class WebchatReconnectTest {
  TestGateway gateway;
  ChromeDriver driver;
  WebchatPage page;

  @BeforeEach
  void start(@TempDir Path root, @TempDir Path profile) {
    JsonObject ws = TestGateway.echoWorkspace().put("port", freePort());
    gateway = TestGateway.standalone(root).workspace("main", ws).start();
    driver = Browser.start(profile);
    page = new WebchatPage(driver, "http://127.0.0.1:" + gateway.port("main"));
  }

  @AfterEach
  void stop() {
    if (driver != null) {
      driver.quit();
    }
    gateway.close();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  @DisplayName("after a restart the page reconnects and catches up by cursor: missed messages once, nothing twice")
  void reconnectAfterRestart() {
    String key = "agent:main:restart-" + UUID.randomUUID().toString().substring(0, 8);
    page.open(TestGateway.TOKEN, key);
    // count how the page asks for history: a full load, or a catch-up after a cursor
    page.js("window.__history = []; const send = GatewayClient.prototype.send;"
        + "GatewayClient.prototype.send = function (method, params, opts) {"
        + "  if (method === 'chat.history') window.__history.push(params.cursor ? 'delta' : 'full');"
        + "  return send.call(this, method, params, opts); };");
    page.send("before the restart");
    page.awaitTexts(List.of("before the restart", "echo: before the restart"));

    // the page may not reconnect before the turn it must catch up on is stored
    driver.setNetworkConditions(new ChromiumNetworkConditions().setOffline(true));
    gateway.stop();
    page.until(d -> !"online".equals(page.status()));
    gateway.start();
    try (ProtocolClient other = gateway.client("main")) {
      assertThat(other.chat(key, "while the page was away").getString("state")).isEqualTo("final");
    }
    assertThat(page.status()).as("the page is still away").isNotEqualTo("online");
    driver.deleteNetworkConditions();

    page.awaitOnline();
    page.awaitTexts(List.of("before the restart", "echo: before the restart", "while the page was away",
        "echo: while the page was away"));
    assertThat(page.js("return window.__history")).as("caught up by cursor, not reloaded").isEqualTo(List.of("delta"));

    page.send("after the restart");
    page.awaitTexts(List.of("before the restart", "echo: before the restart", "while the page was away",
        "echo: while the page was away", "after the restart", "echo: after the restart"));
  }
}
