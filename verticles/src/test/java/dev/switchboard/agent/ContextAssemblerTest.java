package dev.switchboard.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.store.SessionEvent;
import dev.switchboard.workspace.AgentConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the model is shown: agent files with caps, history within its limits, the latest compaction. */
class ContextAssemblerTest {
  static Vertx vertx;

  @TempDir
  Path dir;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** A session's log, served the way the lane's cache serves it. */
  static final class Log implements HistorySource {
    final List<SessionEvent> messages = new ArrayList<>();
    SessionEvent compaction;
    String workingMemory;

    Log add(String type, String runId, JsonObject payload) {
      messages.add(new SessionEvent("s1", messages.size() + 1, type, runId, payload, Instant.now()));
      return this;
    }

    Log user(String runId, String text) {
      return add(SessionEvent.USER_MESSAGE, runId, new JsonObject().put("text", text));
    }

    Log assistant(String runId, String text) {
      return add(SessionEvent.TEXT_FINAL, runId, new JsonObject().put("text", text));
    }

    @Override
    public Future<List<SessionEvent>> recent(String sessionId, int limit) {
      return Future.succeededFuture(messages.subList(Math.max(0, messages.size() - limit), messages.size()));
    }

    @Override
    public Future<SessionEvent> latestCompaction(String sessionId) {
      return Future.succeededFuture(compaction);
    }

    @Override
    public Future<String> workingMemory(String sessionId) {
      return Future.succeededFuture(workingMemory);
    }
  }

  AgentConfig agent(AgentConfig.Context context) {
    AgentConfig d = AgentConfig.defaults("main", "Main", true, dir);
    return new AgentConfig(d.id(), d.name(), true, dir, d.model(), d.tools(), d.loop(), context);
  }

  ContextAssembler.Assembled assemble(Log log, AgentConfig agent, Set<String> exclude, int limit, boolean untriggered)
      throws Exception {
    return new ContextAssembler(vertx, log).assemble(agent, "s1", exclude, limit, untriggered).await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("agent files are capped per file and in total; oversize ones are truncated in the prompt, untouched on disk")
  void fileCaps() throws Exception {
    String agents = "A".repeat(300);
    Files.writeString(dir.resolve("AGENTS.md"), agents);
    Files.writeString(dir.resolve("SOUL.md"), "calm and brief");
    Files.writeString(dir.resolve("USER.md"), "U".repeat(200));
    Files.writeString(dir.resolve("MEMORY.md"), "   \n");
    ContextAssembler.Assembled a = assemble(new Log(), agent(new AgentConfig.Context(100, 250, 32_000)), Set.of(), 40,
        false);

    assertThat(a.system()).startsWith("You are Main, an assistant reached through Switchboard.")
        .contains("## AGENTS.md\n" + "A".repeat(100) + "\n[… truncated: 200 more characters in AGENTS.md]")
        .contains("## SOUL.md\ncalm and brief")
        .doesNotContain("A".repeat(101))
        .doesNotContain("## MEMORY.md"); // blank: left out
    // 250 in total: AGENTS.md 100 + SOUL.md 14 leave 136 for USER.md
    assertThat(a.system()).contains("## USER.md\n" + "U".repeat(100) + "\n[… truncated");
    assertThat(a.files()).extracting(ContextAssembler.FileView::name, ContextAssembler.FileView::shownChars,
            ContextAssembler.FileView::truncated)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("AGENTS.md", 100, true),
            org.assertj.core.groups.Tuple.tuple("SOUL.md", 14, false),
            org.assertj.core.groups.Tuple.tuple("USER.md", 100, true)); // a blank MEMORY.md is not shown at all
    assertThat(Files.readString(dir.resolve("AGENTS.md"))).isEqualTo(agents);
  }

  @Test
  @DisplayName("history: the turn's own runs left out, silent replies and unmentioned messages skipped, limits kept")
  void history() throws Exception {
    Log log = new Log().user("r1", "one").assistant("r1", "first answer").user("r2", "two").assistant("r2", "")
        .add(SessionEvent.USER_MESSAGE, "r3", new JsonObject().put("text", "overheard").put("triggered", false))
        .user("r4", "three").assistant("r4", "x".repeat(50)).user("now", "the question");
    AgentConfig agent = agent(AgentConfig.Context.DEFAULT);

    ContextAssembler.Assembled a = assemble(log, agent, Set.of("now"), 40, false);
    assertThat(a.history()).extracting(ChatMessage::text).containsExactly("one", "first answer", "two", "three",
        "x".repeat(50));
    assertThat(assemble(log, agent, Set.of("now"), 40, true).history()).extracting(ChatMessage::text)
        .contains("overheard");
    // at most historyLimit messages, newest kept
    assertThat(assemble(log, agent, Set.of("now"), 2, false).history()).extracting(ChatMessage::text)
        .containsExactly("three", "x".repeat(50));
    // at most historyMaxChars characters, newest kept
    ContextAssembler.Assembled small = assemble(log, agent(new AgentConfig.Context(8_000, 24_000, 56)), Set.of("now"),
        40, false);
    assertThat(small.history()).extracting(ChatMessage::text).containsExactly("three", "x".repeat(50));
    assertThat(small.omittedMessages()).isEqualTo(3);
  }

  @Test
  @DisplayName("after a compaction, earlier messages are shown only through its summary")
  void compaction() throws Exception {
    Log log = new Log().user("r1", "old question").assistant("r1", "old answer").user("r2", "newer").assistant("r2", "yes");
    log.compaction = new SessionEvent("s1", 5, SessionEvent.COMPACTION, "r9", new JsonObject().put("entryId", "m1")
        .put("throughSeq", 2).put("summary", "- user: old question"), Instant.now());
    ContextAssembler.Assembled a = assemble(log, agent(AgentConfig.Context.DEFAULT), Set.of(), 40, false);
    assertThat(a.history()).extracting(ChatMessage::text).containsExactly("newer", "yes");
    assertThat(a.system()).endsWith("## Earlier in this conversation (summary)\n- user: old question");
    assertThat(a.compaction().throughSeq()).isEqualTo(2);
  }

  @Test
  @DisplayName("the loop detector compares arguments whatever their key order")
  void canonicalArguments() {
    JsonObject a = new JsonObject().put("q", "x").put("opts", new JsonObject().put("b", 1).put("a", List.of(2, 1)));
    JsonObject b = new JsonObject().put("opts", new JsonObject().put("a", List.of(2, 1)).put("b", 1)).put("q", "x");
    assertThat(AgentLoop.canonical(a)).isEqualTo(AgentLoop.canonical(b)).isEqualTo("{\"opts\":{\"a\":[2,1],\"b\":1},\"q\":\"x\"}");
    assertThat(AgentLoop.canonical(new JsonObject().put("q", "y"))).isNotEqualTo(AgentLoop.canonical(a));
  }

  @Test
  @DisplayName("the session's working memory closes the system prompt, after the compaction summary; none, no section")
  void workingMemory() throws Exception {
    Log log = new Log().user("r1", "hello").assistant("r1", "hi");
    log.compaction = new SessionEvent("s1", 3, SessionEvent.COMPACTION, null, new JsonObject().put("entryId", "m1")
        .put("throughSeq", 0).put("summary", "they said hello"), Instant.now());
    ContextAssembler.Assembled without = assemble(log, agent(AgentConfig.Context.DEFAULT), Set.of(), 10, true);
    assertThat(without.system()).doesNotContain("Working memory");
    assertThat(without.describe().getInteger("workingMemoryChars")).isZero();
    log.workingMemory = "  ";
    assertThat(assemble(log, agent(AgentConfig.Context.DEFAULT), Set.of(), 10, true).system())
        .doesNotContain("Working memory");
    log.workingMemory = "plan: ask about the dates";
    ContextAssembler.Assembled with = assemble(log, agent(AgentConfig.Context.DEFAULT), Set.of(), 10, true);
    assertThat(with.system()).endsWith("## Earlier in this conversation (summary)\nthey said hello\n\n"
        + "## Working memory (this session; replace it with working_memory_update)\nplan: ask about the dates");
    assertThat(with.describe().getInteger("workingMemoryChars")).isEqualTo(25);
    assertThat(with.history()).hasSize(2);
  }
}
