package dev.switchboard.agent;

/**
 * The immutable facts of one turn that a tool may act on: whose workspace, which agent, which
 * session and run, who sent the message and through which channel. Tools get this and nothing
 * process-wide, so a tool can never act for another turn, session or workspace.
 *
 * @param senderOwner    the sender has owner rights (an operator, or a configured owner)
 * @param peerKind       {@code direct | group | channel}
 */
public record ToolContext(String workspaceId, String agentId, String sessionKey, String sessionId, String runId,
    String senderId, String senderName, boolean senderOwner, String channel, String accountId, String peerKind,
    String peerId, String threadId) {
}
