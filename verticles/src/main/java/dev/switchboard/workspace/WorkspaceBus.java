package dev.switchboard.workspace;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.Objects;

/**
 * The only way workspace components reach the event bus. Every address gets the
 * {@code ws.<workspaceId>.} prefix, so code cannot name another workspace's address, and every
 * consumer is local: nothing leaks into a cluster by accident.
 */
public final class WorkspaceBus {
  private final EventBus eventBus;
  private final String workspaceId;
  private final String prefix;

  public WorkspaceBus(EventBus eventBus, String workspaceId) {
    this.eventBus = Objects.requireNonNull(eventBus);
    this.workspaceId = Objects.requireNonNull(workspaceId);
    this.prefix = prefixOf(workspaceId);
  }

  public static String prefixOf(String workspaceId) {
    return "ws." + workspaceId + ".";
  }

  public String workspaceId() {
    return workspaceId;
  }

  /** The full address for a component-local name such as {@code routing.inbound}. */
  public String address(String local) {
    if (local == null || local.isEmpty() || local.startsWith("ws.") || local.startsWith("gw.")
        || local.startsWith("__vertx")) {
      throw new IllegalArgumentException("not a workspace-local address: " + local);
    }
    return prefix + local;
  }

  public <T> MessageConsumer<T> consumer(String local, Handler<Message<T>> handler) {
    return eventBus.localConsumer(address(local), handler);
  }

  public Future<JsonObject> request(String local, JsonObject body, long timeoutMs) {
    return eventBus.<JsonObject>request(address(local), body, new DeliveryOptions().setSendTimeout(timeoutMs)
            .setLocalOnly(true))
        .map(Message::body);
  }

  public void send(String local, JsonObject body) {
    eventBus.send(address(local), body, new DeliveryOptions().setLocalOnly(true));
  }

  public void publish(String local, JsonObject body) {
    eventBus.publish(address(local), body, new DeliveryOptions().setLocalOnly(true));
  }
}
