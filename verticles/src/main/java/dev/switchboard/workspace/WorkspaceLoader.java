package dev.switchboard.workspace;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.JsonFiles;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Finds {@code <workspacesDir>/<id>/workspace.json} files and parses each on its own, so one broken
 * workspace is reported with its problems while the others still start.
 */
public final class WorkspaceLoader {
  private WorkspaceLoader() {
  }

  /** A folder that was found: either a usable config or the problems that stop it. */
  public record Found(String id, Path dir, WorkspaceConfig config, List<ConfigProblem> problems) {
    public boolean ok() {
      return config != null;
    }
  }

  public static List<Found> load(Path root, Path workspacesDir, int portOffset, Map<String, String> env) {
    List<Found> out = new ArrayList<>();
    if (!Files.isDirectory(workspacesDir)) {
      return out;
    }
    List<Path> dirs;
    try (Stream<Path> s = Files.list(workspacesDir)) {
      dirs = s.filter(p -> Files.isRegularFile(p.resolve("workspace.json"))).sorted().toList();
    } catch (IOException e) {
      throw new ConfigException(workspacesDir.toString(), "cannot be listed: " + e.getMessage());
    }
    Map<Integer, String> ports = new HashMap<>();
    for (Path dir : dirs) {
      String id = dir.getFileName().toString();
      String label = label(root, dir.resolve("workspace.json"));
      try {
        JsonObject json = JsonFiles.readObject(dir.resolve("workspace.json"), label);
        WorkspaceConfig c = parse(id, dir, json, label, portOffset, env);
        String other = c.port() == 0 ? null : ports.putIfAbsent(c.port(), id);
        if (other != null) {
          throw new ConfigException(label + ": port", "port " + c.port() + " is already used by workspace \""
              + other + "\"");
        }
        out.add(new Found(id, dir, c, List.of()));
      } catch (ConfigException e) {
        out.add(new Found(id, dir, null, e.problems()));
      }
    }
    return out;
  }

  /** Parses one workspace file and applies the gateway's port offset. */
  public static WorkspaceConfig parse(String id, Path dir, JsonObject json, String label, int portOffset,
      Map<String, String> env) {
    WorkspaceConfig c = WorkspaceConfig.parse(id, dir, json, label, env);
    if (portOffset == 0 || c.port() == 0) {
      return c;
    }
    int port = c.port() + portOffset;
    if (port < 1 || port > 65535) {
      throw new ConfigException(label + ": port", "port " + c.port() + " plus portOffset " + portOffset
          + " is outside 1..65535");
    }
    JsonObject raw = c.raw().copy().put("port", port);
    return new WorkspaceConfig(c.id(), c.name(), c.dir(), raw, port, c.agents(), c.routing(), c.channels(),
        c.session(), c.limits(), c.delivery(), c.warnings());
  }

  private static String label(Path root, Path file) {
    Path abs = file.toAbsolutePath().normalize();
    Path r = root.toAbsolutePath().normalize();
    return abs.startsWith(r) ? r.relativize(abs).toString() : abs.toString();
  }
}
