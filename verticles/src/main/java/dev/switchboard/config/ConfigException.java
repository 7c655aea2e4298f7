package dev.switchboard.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration that cannot be used, with every problem found (not only the first). */
public final class ConfigException extends RuntimeException {
  private final List<ConfigProblem> problems;

  public ConfigException(List<ConfigProblem> problems) {
    super(problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("; ")));
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String path, String message) {
    this(List.of(new ConfigProblem(path, message)));
  }

  public List<ConfigProblem> problems() {
    return problems;
  }
}
