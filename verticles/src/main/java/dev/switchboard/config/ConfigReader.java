package dev.switchboard.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads typed values out of one JSON object while remembering the key path, so that every problem
 * names exactly where it is ({@code workspace.json: agents[1].model.provider}). Problems are
 * collected, not thrown, so a user sees all of them at once. Keys nobody asked for are reported as
 * warnings by {@link #finish()}: unknown keys never stop a start.
 */
public final class ConfigReader {
  private static final Pattern SECRET_REF = Pattern.compile("^\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}$");

  private final JsonObject json;
  private final String file;
  private final String path;
  private final List<ConfigProblem> problems;
  private final List<ConfigProblem> warnings;
  private final Map<String, String> env;
  private final Set<String> seen = new LinkedHashSet<>();

  private ConfigReader(JsonObject json, String file, String path, List<ConfigProblem> problems,
      List<ConfigProblem> warnings, Map<String, String> env) {
    this.json = json == null ? new JsonObject() : json;
    this.file = file;
    this.path = path;
    this.problems = problems;
    this.warnings = warnings;
    this.env = env;
  }

  /** A reader for a whole file; {@code env} resolves {@code ${env:NAME}} secret references. */
  public static ConfigReader root(JsonObject json, String file, Map<String, String> env) {
    return new ConfigReader(json, file, "", new ArrayList<>(), new ArrayList<>(), env);
  }

  /** A reader for an object at {@code path} inside {@code file} (a section another component validates). */
  public static ConfigReader at(JsonObject json, String file, String path, Map<String, String> env) {
    return new ConfigReader(json, file, path, new ArrayList<>(), new ArrayList<>(), env);
  }

  public List<ConfigProblem> problems() {
    return problems;
  }

  public List<ConfigProblem> warnings() {
    return warnings;
  }

  public String pathOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  public void problem(String key, String message) {
    problems.add(new ConfigProblem(file + ": " + pathOf(key), message));
  }

  /** A warning about {@code key}: the value is used, but probably not as meant. */
  public void warning(String key, String message) {
    warnings.add(new ConfigProblem(file + ": " + pathOf(key), message));
  }

  public boolean has(String key) {
    seen.add(key);
    return json.containsKey(key) && json.getValue(key) != null;
  }

  public String string(String key, String fallback) {
    seen.add(key);
    Object v = json.getValue(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof String s)) {
      problem(key, "must be a string, got " + describe(v));
      return fallback;
    }
    return s;
  }

  /** A required non-blank string matching {@code pattern} (described by {@code what} in errors). */
  public String identifier(String key, String fallback, Pattern pattern, String what) {
    String s = string(key, fallback);
    if (s == null) {
      problem(key, "is required");
      return null;
    }
    if (!pattern.matcher(s).matches()) {
      problem(key, "must be " + what + ", got \"" + s + "\"");
      return fallback;
    }
    return s;
  }

  public <E extends Enum<E>> E enumValue(String key, E fallback, Function<String, E> parse,
      List<String> allowed) {
    String s = string(key, null);
    if (s == null) {
      return fallback;
    }
    try {
      E e = parse.apply(s);
      if (e != null) {
        return e;
      }
    } catch (IllegalArgumentException ignored) {
      // reported below
    }
    problem(key, "must be one of " + String.join(", ", allowed) + ", got \"" + s + "\"");
    return fallback;
  }

  public int integer(String key, int fallback, int min, int max) {
    long v = longValue(key, fallback, min, max);
    return (int) v;
  }

  public long longValue(String key, long fallback, long min, long max) {
    seen.add(key);
    Object v = json.getValue(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      problem(key, "must be a whole number, got " + describe(v));
      return fallback;
    }
    long l = n.longValue();
    if (l < min || l > max) {
      problem(key, "must be between " + min + " and " + max + ", got " + l);
      return fallback;
    }
    return l;
  }

  public boolean bool(String key, boolean fallback) {
    seen.add(key);
    Object v = json.getValue(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Boolean b)) {
      problem(key, "must be true or false, got " + describe(v));
      return fallback;
    }
    return b;
  }

  /**
   * A secret: a literal string or a {@code ${env:NAME}} reference. A reference to a variable that is
   * not set is a problem (the message names the variable, never a value).
   */
  public Secret secret(String key) {
    String s = string(key, null);
    if (s == null) {
      return null;
    }
    return resolveSecret(key, s);
  }

  private Secret resolveSecret(String key, String s) {
    Matcher m = SECRET_REF.matcher(s.trim());
    if (m.matches()) {
      String value = env.get(m.group(1));
      if (value == null || value.isEmpty()) {
        problem(key, "refers to environment variable " + m.group(1) + ", which is not set");
        return null;
      }
      return Secret.of(value, "env:" + m.group(1));
    }
    return Secret.of(s, file + ": " + pathOf(key));
  }

  /** The names of every {@code ${env:NAME}} reference among the string values of {@code json}, nested included. */
  public static Set<String> secretReferences(JsonObject json) {
    Set<String> names = new LinkedHashSet<>();
    collectReferences(json, names);
    return names;
  }

  private static void collectReferences(Object v, Set<String> names) {
    if (v instanceof String s) {
      Matcher m = SECRET_REF.matcher(s.trim());
      if (m.matches()) {
        names.add(m.group(1));
      }
    } else if (v instanceof JsonObject o) {
      o.forEach(e -> collectReferences(e.getValue(), names));
    } else if (v instanceof JsonArray a) {
      a.forEach(e -> collectReferences(e, names));
    }
  }

  /** A number (fractions allowed) within {@code [min, max]}; absent gives {@code fallback}. */
  public Double number(String key, Double fallback, double min, double max) {
    seen.add(key);
    Object v = json.getValue(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number n) || Double.isNaN(n.doubleValue())) {
      problem(key, "must be a number, got " + describe(v));
      return fallback;
    }
    double d = n.doubleValue();
    if (d < min || d > max) {
      problem(key, "must be between " + min + " and " + max + ", got " + d);
      return fallback;
    }
    return d;
  }

  /**
   * An array of secrets, each a literal or a {@code ${env:NAME}} reference (see {@link #secret}).
   * Absent means empty; problems name the element ({@code apiKeys[1]}).
   */
  public List<Secret> secrets(String key) {
    List<Secret> out = new ArrayList<>();
    JsonArray arr = array(key, "an array of strings");
    for (int i = 0; arr != null && i < arr.size(); i++) {
      String element = key + "[" + i + "]";
      if (!(arr.getValue(i) instanceof String s)) {
        problem(element, "must be a string");
        continue;
      }
      if (s.isBlank()) {
        problem(element, "must not be empty");
        continue;
      }
      Secret secret = resolveSecret(element, s);
      if (secret != null) {
        out.add(secret);
      }
    }
    return out;
  }

  /** The array at {@code key}; null when absent, or when it is something else (a problem then says what was expected). */
  private JsonArray array(String key, String expected) {
    seen.add(key);
    Object v = json.getValue(key);
    if (v != null && !(v instanceof JsonArray)) {
      problem(key, "must be " + expected + ", got " + describe(v));
      return null;
    }
    return (JsonArray) v;
  }

  /** A nested object (absent means empty); a non-object is a problem. */
  public ConfigReader object(String key) {
    seen.add(key);
    Object v = json.getValue(key);
    JsonObject child = new JsonObject();
    if (v instanceof JsonObject o) {
      child = o;
    } else if (v != null) {
      problem(key, "must be an object, got " + describe(v));
    }
    return new ConfigReader(child, file, pathOf(key), problems, warnings, env);
  }

  /** Each element of an array of objects, as a reader with path {@code key[i]}. */
  public List<ConfigReader> objects(String key) {
    List<ConfigReader> out = new ArrayList<>();
    JsonArray arr = array(key, "an array");
    for (int i = 0; arr != null && i < arr.size(); i++) {
      Object e = arr.getValue(i);
      String p = pathOf(key) + "[" + i + "]";
      if (e instanceof JsonObject o) {
        out.add(new ConfigReader(o, file, p, problems, warnings, env));
      } else {
        problems.add(new ConfigProblem(file + ": " + p, "must be an object, got " + describe(e)));
      }
    }
    return out;
  }

  /** An array of strings (absent means empty). */
  public List<String> strings(String key) {
    List<String> out = new ArrayList<>();
    JsonArray arr = array(key, "an array of strings");
    for (int i = 0; arr != null && i < arr.size(); i++) {
      Object e = arr.getValue(i);
      if (e instanceof String s) {
        out.add(s);
      } else if (e instanceof Number n) {
        out.add(n.toString()); // platform ids are often written as numbers
      } else {
        problems.add(new ConfigProblem(file + ": " + pathOf(key) + "[" + i + "]",
            "must be a string, got " + describe(e)));
      }
    }
    return out;
  }

  /** The raw object, for sections whose schema is owned elsewhere (still marks the key as known). */
  public JsonObject raw(String key) {
    seen.add(key);
    Object v = json.getValue(key);
    return v instanceof JsonObject o ? o.copy() : new JsonObject();
  }

  /** Every key of this object (all marked as known), in file order. */
  public List<String> keys() {
    List<String> out = new ArrayList<>(json.fieldNames());
    seen.addAll(out);
    return out;
  }

  /** A copy of this object as written. */
  public JsonObject json() {
    return json.copy();
  }

  /** Marks every key of this object as known: its remaining keys belong to another component. */
  public void rawRest() {
    seen.addAll(json.fieldNames());
  }

  /** Reports keys present in the file that no reader asked for, as warnings. */
  public ConfigReader finish() {
    for (String k : json.fieldNames()) {
      if (!seen.contains(k) && !k.startsWith("$") && !k.startsWith("_")) {
        warnings.add(new ConfigProblem(file + ": " + pathOf(k), "unknown key (ignored)"));
      }
    }
    return this;
  }

  private static String describe(Object v) {
    if (v instanceof String s) {
      return "\"" + (s.length() > 40 ? s.substring(0, 40) + "…" : s) + "\"";
    }
    if (v instanceof JsonObject) {
      return "an object";
    }
    if (v instanceof JsonArray) {
      return "an array";
    }
    return String.valueOf(v);
  }
}
