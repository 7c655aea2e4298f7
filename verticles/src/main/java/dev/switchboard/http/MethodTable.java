package dev.switchboard.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Every method the protocol answers, with the scope it needs (fixed, or decided by its params). */
final class MethodTable {
  @FunctionalInterface
  interface Handler {
    Future<?> handle(MethodCall call);
  }

  record Entry(String name, Function<JsonObject, String> scope, Handler handler) {
  }

  private final Map<String, Entry> entries = new LinkedHashMap<>();

  MethodTable add(String name, String scope, Handler handler) {
    return add(name, p -> scope, handler);
  }

  MethodTable add(String name, Function<JsonObject, String> scope, Handler handler) {
    if (entries.putIfAbsent(name, new Entry(name, scope, handler)) != null) {
      throw new IllegalStateException("method registered twice: " + name);
    }
    return this;
  }

  Entry get(String name) {
    return entries.get(name);
  }

  List<String> names() {
    return new ArrayList<>(entries.keySet());
  }
}
