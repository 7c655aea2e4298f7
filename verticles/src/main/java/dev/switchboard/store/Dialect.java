package dev.switchboard.store;

/** The two databases we run on. The SQL is the same; only URLs and a few admin statements differ. */
public enum Dialect {
  H2, POSTGRESQL;

  public static Dialect of(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      return H2;
    }
    if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      return POSTGRESQL;
    }
    throw new IllegalArgumentException("unsupported JDBC URL (expected jdbc:h2: or jdbc:postgresql:)");
  }

  /** The URL whose connections use {@code schema} for unqualified names. */
  public String urlForSchema(String url, String schema) {
    return switch (this) {
      case H2 -> url + ";SCHEMA=" + schema;
      case POSTGRESQL -> url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    };
  }

  /** Strips credentials that may be written into a URL, for logs. */
  public static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("//[^/@]*@", "//***@");
  }
}
