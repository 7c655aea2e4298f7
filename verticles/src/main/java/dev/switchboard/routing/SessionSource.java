package dev.switchboard.routing;

import io.vertx.core.json.JsonObject;

/**
 * Builds a session's {@code source}, in one place: where the conversation comes from. A session keeps
 * the source it was opened with; {@code /new} and {@code /reset} carry it over to the fresh session.
 *
 * <pre>
 * {kind: cli | api | channel, interactive, platform, triggerId, type: direct | group}
 * </pre>
 * {@code kind}: {@code channel} for chat platforms; for operator clients {@code cli} when the client
 * announced OpenClaw's {@code client.mode: cli}, else {@code api}. {@code type}: from the chat, or
 * for operator clients from the session key's shape. {@code triggerId}: the run that opened it, when
 * a message did.
 */
public final class SessionSource {
  private SessionSource() {
  }

  /** The source of a session an inbound message opens. */
  public static JsonObject of(Inbound in, String sessionKey, String runId) {
    if (in.operator()) {
      return operator(in.clientMode(), in.channel(), sessionKey, runId);
    }
    return new JsonObject().put("kind", "channel").put("interactive", true).put("platform", in.channel())
        .put("triggerId", runId).put("type", in.isDirect() ? "direct" : "group");
  }

  /** The source of a session an operator client opens; {@code triggerId} may be null. */
  public static JsonObject operator(String clientMode, String platform, String sessionKey, String triggerId) {
    JsonObject source = new JsonObject().put("kind", "cli".equals(clientMode) ? "cli" : "api").put("interactive", true)
        .put("platform", platform).put("type", SessionKeys.typeOf(sessionKey));
    if (triggerId != null) {
      source.put("triggerId", triggerId);
    }
    return source;
  }
}
