package dev.switchboard.bench;

import dev.switchboard.support.ScriptedOpenAiServer;
import io.vertx.core.Vertx;

/**
 * The benchmark's model: the scripted OpenAI-compatible server as a process of its own, so its
 * CPU is not counted as the gateway's. Arguments: port, pause between streamed pieces in ms (0:
 * instant). Prints {@code model ready <port>} and serves until killed.
 */
public final class ModelServerMain {
  private ModelServerMain() {
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    long delay = Long.parseLong(args[1]);
    ScriptedOpenAiServer server = new ScriptedOpenAiServer(Vertx.vertx());
    server.streamDelayMs(delay).recordRequests(false);
    server.start(port);
    System.out.println("model ready " + port);
    System.out.flush();
  }
}
