package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestDatabases;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sessions as operators see them: protocol methods and the REST view. */
@Timeout(60)
class SessionSurfacesTest {
  static Vertx vertx;
  static TestGateway gateway;
  static DatabaseConfig db;
  static WebClient web;

  @BeforeAll
  static void start(@TempDir Path root) {
    vertx = Vertx.vertx();
    db = TestDatabases.h2();
    gateway = TestGateway.in(vertx, root, db).workspace("main", TestGateway.echoWorkspace()).start();
    web = WebClient.create(vertx);
  }

  @AfterAll
  static void stop() throws Exception {
    web.close();
    gateway.close();
    TestDatabases.dropSchemas(db);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  HttpResponse<Buffer> get(String path, String token) throws Exception {
    var req = web.get(gateway.port("main"), "127.0.0.1", path);
    if (token != null) {
      req.putHeader("Authorization", "Bearer " + token);
    }
    return req.send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a replaced session stays searchable; describe lists participants; an idle direct session can be deleted")
  void protocolSessions() {
    try (ProtocolClient c = gateway.client("main")) {
      c.chat("agent:main:notes", "the blue heron nests here [in:P1]");
      c.chat("agent:main:notes", "/new");
      c.chat("agent:main:notes", "something else [in:P2]");
      JsonObject found = c.call("sessions.list", new JsonObject().put("search", "heron"));
      assertThat(found.getJsonArray("sessions")).hasSize(1);
      assertThat(found.getJsonArray("sessions").getJsonObject(0).getString("state")).isEqualTo("inactive");
      JsonObject described = c.call("sessions.describe", new JsonObject().put("key", "agent:main:notes"));
      assertThat(described.getJsonObject("session").getJsonArray("participants")).containsExactly("operator:gateway-client");
      assertThat(described.getJsonObject("session").getString("displayName")).isEqualTo("something else [in:P2]");

      JsonObject deleted = c.call("sessions.delete", new JsonObject().put("key", "agent:main:notes"));
      assertThat(deleted.getBoolean("deleted")).isTrue();
      assertThat(c.call("sessions.describe", new JsonObject().put("key", "agent:main:notes")).getValue("session")).isNull();
      // the replaced session was not deleted: it is still found
      assertThat(c.call("sessions.list", new JsonObject().put("search", "heron")).getJsonArray("sessions")).hasSize(1);
    }
  }

  @Test
  @DisplayName("the REST view needs the bearer token, refuses it in the URL, and shows lanes and sessions")
  void rest() throws Exception {
    try (ProtocolClient c = gateway.client("main")) {
      c.chat("main", "hello rest [in:R1]");
    }
    assertThat(get("/api/status", null).statusCode()).isEqualTo(401);
    assertThat(get("/api/status", null).getHeader("Content-Type")).isEqualTo("application/problem+json");
    assertThat(get("/api/status?token=" + TestGateway.TOKEN, TestGateway.TOKEN).statusCode()).isEqualTo(400);
    HttpResponse<Buffer> status = get("/api/status", TestGateway.TOKEN);
    assertThat(status.statusCode()).isEqualTo(200);
    assertThat(status.bodyAsJsonObject().getJsonObject("lanes").getInteger("maxConcurrentTurns")).isEqualTo(16);
    HttpResponse<Buffer> sessions = get("/api/sessions?search=rest", TestGateway.TOKEN);
    assertThat(sessions.bodyAsJsonObject().getJsonArray("sessions")).hasSize(1);
    assertThat(get("/api/sessions?limit=0", TestGateway.TOKEN).statusCode()).isEqualTo(400);
    assertThat(get("/api/nothing", TestGateway.TOKEN).statusCode()).isEqualTo(404);
  }
}
