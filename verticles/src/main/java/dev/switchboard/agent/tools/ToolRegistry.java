package dev.switchboard.agent.tools;

import dev.switchboard.agent.ToolSpec;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.WorkspaceBus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The built-in tools of one workspace, and which of them each agent may call ({@code agents[].tools}). */
public final class ToolRegistry {
  private final Map<String, Tool> tools = new LinkedHashMap<>();

  public ToolRegistry(WorkspaceBus bus, SessionStore sessions, EventStore events) {
    add(MemoryTools.search(bus));
    add(MemoryTools.write(bus));
    add(SessionTools.list(sessions));
    add(SessionTools.history(sessions, events));
    add(SessionTools.send(bus));
    add(WorkingMemoryTool.update(bus));
    if (!tools.keySet().equals(new java.util.LinkedHashSet<>(AgentConfig.TOOLS))) {
      throw new IllegalStateException("tool registry and AgentConfig.TOOLS disagree: " + tools.keySet());
    }
  }

  private void add(Tool t) {
    tools.put(t.spec().name(), t);
  }

  /** The schemas shown to {@code agent}'s model, in its configured order. */
  public List<ToolSpec> specs(AgentConfig agent) {
    List<ToolSpec> out = new ArrayList<>();
    for (String name : agent.tools()) {
      out.add(tools.get(name).spec());
    }
    return out;
  }

  /** The tool, if {@code agent} may call it; null otherwise (unknown or not enabled). */
  public Tool find(AgentConfig agent, String name) {
    return agent.tools().contains(name) ? tools.get(name) : null;
  }
}
