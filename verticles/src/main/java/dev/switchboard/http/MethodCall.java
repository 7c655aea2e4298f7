package dev.switchboard.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * One request being handled: the connection, the request id and typed access to its params. Bad
 * params become {@code INVALID_REQUEST "invalid <method> params: ..."}.
 */
final class MethodCall {
  final ClientConnection connection;
  final String id;
  final String method;
  final JsonObject params;

  MethodCall(ClientConnection connection, String id, String method, JsonObject params) {
    this.connection = connection;
    this.id = id;
    this.method = method;
    this.params = params;
  }

  /** Sends an interim response now (methods that acknowledge first and finish later). */
  void interim(JsonObject payload) {
    connection.respond(id, payload);
  }

  ProtocolError invalid(String why) {
    return ProtocolError.invalidParams(method, why);
  }

  String string(String name, boolean required, int maxLength) {
    Object v = params.getValue(name);
    if (v == null) {
      if (required) {
        throw invalid("missing required property '" + name + "'");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw invalid("'" + name + "' must be a string");
    }
    if (required && s.isEmpty()) {
      throw invalid("'" + name + "' must not be empty");
    }
    if (s.length() > maxLength) {
      throw invalid("'" + name + "' must be at most " + maxLength + " characters");
    }
    return s;
  }

  int integer(String name, int fallback, int min, int max) {
    Object v = params.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw invalid("'" + name + "' must be an integer");
    }
    long l = n.longValue();
    if (l < min || l > max) {
      throw invalid("'" + name + "' must be between " + min + " and " + max);
    }
    return (int) l;
  }

  boolean bool(String name, boolean fallback) {
    Object v = params.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Boolean b)) {
      throw invalid("'" + name + "' must be a boolean");
    }
    return b;
  }

  JsonArray array(String name) {
    Object v = params.getValue(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      throw invalid("'" + name + "' must be an array");
    }
    return a;
  }
}
