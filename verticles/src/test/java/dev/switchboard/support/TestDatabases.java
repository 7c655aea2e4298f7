package dev.switchboard.support;

import dev.switchboard.config.Secret;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * Databases for tests. H2 runs in memory. PostgreSQL is the server named by
 * {@code SWITCHBOARD_TEST_PG_URL} (default {@code jdbc:postgresql://127.0.0.1:5432/test}, user
 * {@code postgres}); each call gets a fresh schema prefix, and {@link #dropSchemas} removes what a
 * test created. When {@code SWITCHBOARD_TEST_REQUIRE_PG=true} (CI sets it), an unreachable server
 * fails the test instead of skipping it, so a PostgreSQL suite can never pass by skipping.
 */
public final class TestDatabases {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);

  private TestDatabases() {
  }

  public static DatabaseConfig h2() {
    String name = "t" + RUN + "_" + COUNTER.incrementAndGet();
    return new DatabaseConfig("jdbc:h2:mem:" + name
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1", "sa", null, "", 4);
  }

  /** An H2 file database in {@code dir}: survives a restart of the gateway within the test. */
  public static DatabaseConfig h2File(java.nio.file.Path dir) {
    return new DatabaseConfig(DatabaseConfig.embeddedUrl(dir.resolve("switchboard")), "sa", null, "", 4);
  }

  public static String postgresUrl() {
    String url = System.getenv("SWITCHBOARD_TEST_PG_URL");
    return url == null || url.isBlank() ? "jdbc:postgresql://127.0.0.1:5432/test" : url;
  }

  public static boolean postgresRequired() {
    return "true".equalsIgnoreCase(System.getenv("SWITCHBOARD_TEST_REQUIRE_PG"));
  }

  /** Whether the PostgreSQL test server answers (benchmarks run on it when it does). */
  public static boolean postgresReachable() {
    try (Connection c = DriverManager.getConnection(postgresUrl(),
        System.getenv().getOrDefault("SWITCHBOARD_TEST_PG_USER", "postgres"), System.getenv("SWITCHBOARD_TEST_PG_PASSWORD"))) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  /** PostgreSQL with a schema prefix unique to this call; skips (or fails in CI) without a server. */
  public static DatabaseConfig postgres() {
    String url = postgresUrl();
    String user = System.getenv().getOrDefault("SWITCHBOARD_TEST_PG_USER", "postgres");
    String password = System.getenv("SWITCHBOARD_TEST_PG_PASSWORD");
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      c.isValid(2);
    } catch (SQLException e) {
      String why = "PostgreSQL at " + url + " is not reachable: " + e.getMessage();
      if (postgresRequired()) {
        throw new AssertionError(why + " (SWITCHBOARD_TEST_REQUIRE_PG=true)", e);
      }
      Assumptions.abort(why + "; set SWITCHBOARD_TEST_PG_URL to run the PostgreSQL tests");
    }
    String prefix = "t" + RUN + "_" + COUNTER.incrementAndGet() + "_";
    return new DatabaseConfig(url, user, password == null ? null : Secret.of(password, "test"), prefix, 4);
  }

  /** Drops every schema whose name starts with the config's prefix (PostgreSQL), or the H2 database. */
  public static void dropSchemas(DatabaseConfig db) {
    try (Connection c = Database.connect(db); Statement s = c.createStatement()) {
      if (db.url().startsWith("jdbc:h2:mem:")) {
        s.execute("DROP ALL OBJECTS");
        return;
      }
      if (db.schemaPrefix().isEmpty()) {
        return;
      }
      List<String> schemas = new ArrayList<>();
      try (ResultSet rs = s.executeQuery("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '"
          + db.schemaPrefix() + "%'")) {
        while (rs.next()) {
          schemas.add(rs.getString(1));
        }
      }
      for (String schema : schemas) {
        Database.dropSchemaBlocking(db, schema);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not clean up test schemas", e);
    }
  }

  /**
   * Waits (polling, bounded at 30 s) until a query's first column equals {@code expected}: for
   * states the gateway records a moment after the user-visible effect (an obligation's delivered).
   */
  public static void awaitValue(DatabaseConfig db, String schema, String sql, Object expected) {
    Object[] last = {null};
    Poll.until(sql + " to give " + expected, Duration.ofSeconds(30), () -> {
      last[0] = scalar(db, schema, sql);
      return java.util.Objects.equals(last[0], expected) ? Boolean.TRUE : null;
    }, () -> last[0]);
  }


  /** Waits until the obligation(s) of a run are delivered. */
  public static void awaitDelivered(DatabaseConfig db, String schema, String runId) {
    awaitValue(db, schema, "SELECT MIN(status) FROM outbox WHERE run_id = '" + runId + "'", "delivered");
  }

  /** Runs a query on a plain connection and returns the first column of the first row. */
  public static Object scalar(DatabaseConfig db, String schema, String sql) {
    try (Connection c = connect(db, schema); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getObject(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** Runs one statement that changes something (DDL, insert, update) in a schema; returns the rows it changed. */
  public static int execute(DatabaseConfig db, String schema, String sql) {
    try (Connection c = connect(db, schema); Statement s = c.createStatement()) {
      return s.executeUpdate(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** A connection whose unqualified names resolve in {@code schema}, on either database. */
  private static Connection connect(DatabaseConfig db, String schema) throws SQLException {
    Connection c = Database.connect(db);
    try (Statement s = c.createStatement()) {
      s.execute(db.dialect() == dev.switchboard.store.Dialect.H2 ? "SET SCHEMA " + schema : "SET search_path TO " + schema);
      return c;
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }

  /**
   * Opens a transaction that locks the rows {@code selectForUpdate} selects, until closed (then it
   * commits): writes of the gateway that touch those rows wait meanwhile. A test holds a state still
   * with it (a turn that is winding down stays so while the test sends the next messages).
   */
  public static AutoCloseable lockRows(DatabaseConfig db, String schema, String selectForUpdate) {
    try {
      Connection c = connect(db, schema);
      try (Statement s = c.createStatement()) {
        c.setAutoCommit(false);
        try (ResultSet rs = s.executeQuery(selectForUpdate)) {
          if (!rs.next()) {
            throw new IllegalStateException("nothing to lock: " + selectForUpdate);
          }
        }
      }
      return () -> {
        try (c) {
          c.commit();
        }
      };
    } catch (SQLException e) {
      throw new IllegalStateException(selectForUpdate, e);
    }
  }
}
