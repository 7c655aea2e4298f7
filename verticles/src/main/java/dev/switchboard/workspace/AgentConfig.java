package dev.switchboard.workspace;

import dev.switchboard.config.ConfigReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One agent of a workspace.
 *
 * @param id        lower-case id used in session keys ({@code agent:<id>:...})
 * @param name      display name
 * @param isDefault the agent that answers when no binding picks another
 * @param dir       folder holding the agent's files (AGENTS.md, SOUL.md, USER.md, MEMORY.md)
 * @param model     the model it talks to (with its fallbacks)
 * @param tools     the built-in tools it may call (see {@link #TOOLS}); empty means none
 * @param loop      bounds of one turn's model/tool loop
 * @param context   size caps of what the model is shown
 */
public record AgentConfig(String id, String name, boolean isDefault, Path dir, ModelConfig model, List<String> tools,
    Loop loop, Context context) {

  /** The built-in tools, in the order their schemas are shown to the model. */
  public static final List<String> TOOLS = List.of("memory_search", "memory_write", "sessions_list",
      "session_history", "session_send", "working_memory_update");

  /**
   * @param maxSteps              model calls per turn; a turn that still asks for tools at the last step
   *                              ends with an error
   * @param maxToolFailures       consecutive failed tool calls after which the turn is aborted
   * @param maxIdenticalToolCalls how often one exact call (tool and arguments) may run in a turn; the
   *                              next identical call stops the turn (loop detector)
   * @param toolTimeoutMs         upper bound for one tool call
   */
  public record Loop(int maxSteps, int maxToolFailures, int maxIdenticalToolCalls, long toolTimeoutMs) {
    public static final Loop DEFAULT = new Loop(8, 3, 2, 30_000);
  }

  /**
   * @param fileMaxChars      cap per agent file in the prompt (the file on disk is untouched)
   * @param totalFileMaxChars cap for all agent files together
   * @param historyMaxChars   cap for the earlier messages shown; older ones are left out
   */
  public record Context(int fileMaxChars, int totalFileMaxChars, int historyMaxChars) {
    public static final Context DEFAULT = new Context(8_000, 24_000, 32_000);
  }

  /** An agent with every default: echo model, all tools. */
  public static AgentConfig defaults(String id, String name, boolean isDefault, Path dir) {
    return new AgentConfig(id, name, isDefault, dir, ModelConfig.echo(), TOOLS, Loop.DEFAULT, Context.DEFAULT);
  }

  public AgentConfig asDefault() {
    return new AgentConfig(id, name, true, dir, model, tools, loop, context);
  }

  static List<String> readTools(ConfigReader a) {
    if (!a.has("tools")) {
      return TOOLS;
    }
    List<String> out = new ArrayList<>();
    List<String> listed = a.strings("tools");
    for (int i = 0; i < listed.size(); i++) {
      String t = listed.get(i);
      if (!TOOLS.contains(t)) {
        a.problem("tools[" + i + "]", "unknown tool \"" + t + "\"; this build has " + String.join(", ", TOOLS));
      } else if (!out.contains(t)) {
        out.add(t);
      }
    }
    return List.copyOf(out);
  }

  static Loop readLoop(ConfigReader l) {
    Loop d = Loop.DEFAULT;
    Loop loop = new Loop(
        l.integer("maxSteps", d.maxSteps(), 1, 100),
        l.integer("maxToolFailures", d.maxToolFailures(), 1, 100),
        l.integer("maxIdenticalToolCalls", d.maxIdenticalToolCalls(), 1, 100),
        l.longValue("toolTimeoutMs", d.toolTimeoutMs(), 100, 3_600_000));
    l.finish();
    return loop;
  }

  static Context readContext(ConfigReader c) {
    Context d = Context.DEFAULT;
    int file = c.integer("fileMaxChars", d.fileMaxChars(), 0, 1_000_000);
    int total = c.integer("totalFileMaxChars", Math.max(file, d.totalFileMaxChars()), 0, 4_000_000);
    int history = c.integer("historyMaxChars", d.historyMaxChars(), 0, 4_000_000);
    c.finish();
    return new Context(file, total, history);
  }
}
