package dev.switchboard.memory;

/** Event-bus addresses of the memory engine (workspace-local names). */
public final class MemoryAddresses {
  /** {@code {agentId, text, kind?, tags?, sessionId?}} → the stored entry. */
  public static final String WRITE = "memory.write";
  /** {@code {agentId, query, limit?}} → {@code {entries: [...]}}, newest first; an empty query lists recent entries. */
  public static final String SEARCH = "memory.search";
  /**
   * {@code {agentId, sessionId, sessionKey}} → the checkpoint entry: a summary of a session that
   * {@code /new} or {@code /reset} replaced, written once per session (asking again returns the first).
   */
  public static final String CHECKPOINT = "memory.checkpoint";
  /** {@code {agentId, id}} → {@code {deleted}}. */
  public static final String DELETE = "memory.delete";
  /**
   * {@code {agentId, sessionId, afterSeq?, previousSummary?, keepMessages}} → {@code {droppedMessages,
   * keptMessages, entryId?, throughSeq?, summary?}}: summarise the session's messages after
   * {@code afterSeq}, all but the newest {@code keepMessages}, into a {@code compaction} memory entry,
   * and say what the agent loop may drop (messages up to {@code throughSeq}) and show instead
   * ({@code summary}). {@code droppedMessages: 0} when there was nothing older to compact.
   */
  public static final String COMPACT = "memory.compact";

  private MemoryAddresses() {
  }
}
