package dev.switchboard.config;

/**
 * One thing wrong with a configuration file: where (a dotted key path inside a named file) and why.
 *
 * @param path    e.g. {@code workspaces/team/workspace.json: agents[0].model.provider}
 * @param message human text, naming the bad value where that helps
 */
public record ConfigProblem(String path, String message) {
  @Override
  public String toString() {
    return path + ": " + message;
  }
}
