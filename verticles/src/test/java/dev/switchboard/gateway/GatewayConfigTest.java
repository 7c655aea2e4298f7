package dev.switchboard.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.store.Dialect;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {
  static final Path ROOT = Path.of("/srv/sb");

  @Test
  @DisplayName("an empty file means embedded H2 under data/, loopback, no token (one is generated)")
  void defaults() {
    GatewayConfig c = GatewayConfig.fromJson(ROOT, new JsonObject(), "gateway.json", Map.of());
    assertThat(c.host()).isEqualTo("127.0.0.1");
    assertThat(c.dataDir()).isEqualTo(ROOT.resolve("data"));
    assertThat(c.database().dialect()).isEqualTo(Dialect.H2);
    assertThat(c.database().url()).startsWith("jdbc:h2:file:/srv/sb/data/switchboard;MODE=PostgreSQL");
    assertThat(c.token()).isNull();
    assertThat(c.warnings()).isEmpty();
  }

  @Test
  @DisplayName("SWITCHBOARD_* environment variables override file values")
  void environmentOverrides() {
    JsonObject file = new JsonObject().put("portOffset", 5).put("database", new JsonObject().put("poolSize", 2));
    Map<String, String> env = Map.of("SWITCHBOARD_TOKEN", "0123456789abcdef-token",
        "SWITCHBOARD_DATABASE_URL", "jdbc:postgresql://db:5432/sb", "SWITCHBOARD_PORT_OFFSET", "1000",
        "SWITCHBOARD_DATABASE_POOL_SIZE", "8");
    GatewayConfig c = GatewayConfig.fromJson(ROOT, GatewayConfig.applyEnv(file, env), "gateway.json", env);
    assertThat(c.token().reveal()).isEqualTo("0123456789abcdef-token");
    assertThat(c.database().dialect()).isEqualTo(Dialect.POSTGRESQL);
    assertThat(c.portOffset()).isEqualTo(1000);
    assertThat(c.database().poolSize()).isEqualTo(8);
  }

  @Test
  @DisplayName("a secret reference reads the environment; a missing variable is named, its value never shown")
  void secretReferences() {
    JsonObject file = new JsonObject().put("auth", new JsonObject().put("token", "${env:SB_TOKEN}"));
    GatewayConfig c = GatewayConfig.fromJson(ROOT, file, "gateway.json", Map.of("SB_TOKEN", "from-the-environment-123"));
    assertThat(c.token().reveal()).isEqualTo("from-the-environment-123");
    assertThat(c.token().toString()).doesNotContain("from-the-environment");
    assertThatThrownBy(() -> GatewayConfig.fromJson(ROOT, file, "gateway.json", Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("gateway.json: auth.token: refers to environment variable SB_TOKEN, which is not set");
  }

  @Test
  @DisplayName("every bad value is reported with its key path, all at once; unknown keys only warn")
  void problemsAndWarnings() {
    JsonObject file = new JsonObject().put("portOffset", "ten").put("database", new JsonObject()
            .put("url", "jdbc:mysql://x").put("poolSize", 0))
        .put("auth", new JsonObject().put("token", "short")).put("colour", "blue");
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> GatewayConfig.fromJson(ROOT, file, "conf/gateway.json", Map.of()));
    assertThat(e.problems()).extracting(ConfigProblem::path).containsExactlyInAnyOrder(
        "conf/gateway.json: portOffset", "conf/gateway.json: database.url", "conf/gateway.json: database.poolSize",
        "conf/gateway.json: auth.token");
    assertThat(e.getMessage()).doesNotContain("short\"");
    GatewayConfig ok = GatewayConfig.fromJson(ROOT, new JsonObject().put("colour", "blue"), "conf/gateway.json", Map.of());
    assertThat(ok.warnings()).extracting(ConfigProblem::toString).containsExactly("conf/gateway.json: colour: unknown key (ignored)");
  }
}
