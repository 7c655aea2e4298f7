package dev.switchboard.store;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** Conversions between rows and Java values that every store needs the same way. */
final class Rows {
  private Rows() {
  }

  /** Times are bound as UTC offsets: H2 keeps the offset it is given, PostgreSQL normalises. */
  static OffsetDateTime time(Instant i) {
    return i == null ? null : i.atOffset(ZoneOffset.UTC);
  }

  static Instant instant(Row row, String column) {
    Object v = row.getValue(column);
    if (v == null) {
      return null;
    }
    if (v instanceof OffsetDateTime o) {
      return o.toInstant();
    }
    if (v instanceof java.time.LocalDateTime l) {
      return l.toInstant(ZoneOffset.UTC);
    }
    if (v instanceof Instant i) {
      return i;
    }
    return OffsetDateTime.parse(v.toString()).toInstant();
  }

  static JsonObject object(Row row, String column) {
    String s = row.getString(column);
    return s == null || s.isEmpty() ? new JsonObject() : new JsonObject(s);
  }

  static JsonArray array(Row row, String column) {
    String s = row.getString(column);
    return s == null || s.isEmpty() ? new JsonArray() : new JsonArray(s);
  }

  /** Cuts a value to a column's width (VARCHAR(n)) without splitting a surrogate pair. */
  static String clip(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    int end = max;
    if (Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end);
  }
}
