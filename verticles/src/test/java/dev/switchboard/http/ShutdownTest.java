package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A graceful stop tells every connected client, then closes it with 1012 so it reconnects. */
@Timeout(60)
class ShutdownTest {
  TestGateway gateway;

  @BeforeEach
  void start(@TempDir Path root) {
    gateway = TestGateway.standalone(root).workspace("main", TestGateway.echoWorkspace())
        .workspace("team", TestGateway.echoWorkspace()).start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("stopping the gateway sends a shutdown event, then closes every socket with 1012 service restart")
  void shutdownEventThenClose() {
    try (ProtocolClient a = gateway.client("main"); ProtocolClient b = gateway.client("team")) {
      a.chat("main", "before the stop");
      gateway.stop();
      for (ProtocolClient c : List.of(a, b)) {
        assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1012);
        assertThat(c.closeReason()).isEqualTo("service restart");
        List<JsonObject> events = c.frames(f -> "event".equals(f.getString("type")));
        JsonObject last = events.get(events.size() - 1);
        assertThat(last.getString("event")).isEqualTo("shutdown");
        assertThat(last.getJsonObject("payload").getString("reason")).isEqualTo("gateway stopping");
        assertThat(c.events("shutdown")).hasSize(1);
        // the shutdown event is numbered like every other event
        List<Long> seqs = c.eventSeqs();
        assertThat(last.getLong("seq")).isEqualTo(seqs.size());
      }
    }
  }
}
