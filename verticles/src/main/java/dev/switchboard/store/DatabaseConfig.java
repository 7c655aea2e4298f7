package dev.switchboard.store;

import dev.switchboard.config.Secret;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;

/**
 * How to reach the database. Carried to every workspace verticle inside its deployment config (see
 * {@link #toJson()}), so a verticle can be deployed from JSON alone.
 *
 * @param url          JDBC URL: {@code jdbc:h2:...} (embedded) or {@code jdbc:postgresql:...}
 * @param user         user name, may be null
 * @param password     password, may be null
 * @param schemaPrefix prepended to every schema name (tests use it to run side by side)
 * @param poolSize     connections per workspace
 */
public record DatabaseConfig(String url, String user, Secret password, String schemaPrefix,
    int poolSize) {

  /**
   * The embedded default: an H2 file in PostgreSQL mode. {@code WRITE_DELAY=0} writes every commit
   * to the file before the commit returns: H2's default (500 ms) loses the last commits when the
   * process is killed, and a lost "reply stored" commit would run a turn twice.
   */
  public static String embeddedUrl(Path fileWithoutSuffix) {
    return "jdbc:h2:file:" + fileWithoutSuffix.toAbsolutePath()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;WRITE_DELAY=0";
  }

  public Dialect dialect() {
    return Dialect.of(url);
  }

  /** The schema that holds one workspace's tables. */
  public String workspaceSchema(String workspaceId) {
    return schemaPrefix + "ws_" + workspaceId.replace('-', '_');
  }

  public JsonObject toJson() {
    JsonObject j = new JsonObject().put("url", url).put("schemaPrefix", schemaPrefix)
        .put("poolSize", poolSize);
    if (user != null) {
      j.put("user", user);
    }
    if (password != null) {
      j.put("password", password.reveal()).put("passwordOrigin", password.origin());
    }
    return j;
  }

  public static DatabaseConfig fromJson(JsonObject j) {
    String pw = j.getString("password");
    return new DatabaseConfig(j.getString("url"), j.getString("user"),
        pw == null ? null : Secret.of(pw, j.getString("passwordOrigin", "database.password")),
        j.getString("schemaPrefix", ""), j.getInteger("poolSize", 4));
  }

  @Override
  public String toString() {
    return "DatabaseConfig[" + dialect() + " " + Dialect.redact(url) + "]";
  }
}
