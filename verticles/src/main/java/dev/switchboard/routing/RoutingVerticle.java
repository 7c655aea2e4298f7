package dev.switchboard.routing;

import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.lanes.TurnRequest;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.InboundRecord;
import dev.switchboard.store.InboundStore;
import dev.switchboard.store.PairingStore;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for every inbound message: may it pass (access policy, deny by default), which agent
 * answers (bindings, or several for a broadcast group), which session it belongs to (the session
 * key, built in one place), whether it triggers a turn (group mention gating) — and hands it to that
 * session's lane. Slash commands go to the lane too, which runs them ahead of the queue.
 */
public final class RoutingVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(RoutingVerticle.class);
  private static final long LANE_TIMEOUT_MS = 30_000;
  /** Unfinished messages read per page when resuming after a restart. */
  private static final int REPLAY_PAGE = 1_000;
  /** Commands that change a group's conversation for everyone: an owner's, or addressed to the agent. */
  static final Set<String> GATED_COMMANDS = Set.of("new", "reset", "stop");
  /** Prefixed to an owner's group message that does not address the agent, so the model can stay quiet. */
  static final String NOT_ADDRESSED = "[Not addressed to you. If you have nothing to add, answer exactly <NO_REPLY>.]";

  private WorkspaceConfig workspace;
  private WorkspaceBus bus;
  private SessionStore sessions;
  private InboundStore inbound;
  private BindingResolver bindings;
  private AccessPolicy access;
  private SessionSendHandler sessionSend;
  private Pairing pairing;

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    workspace = ctx.config();
    bus = ctx.bus(vertx);
    var pool = ctx.pool(vertx);
    sessions = new SessionStore(pool);
    inbound = new InboundStore(pool);
    bindings = new BindingResolver(workspace);
    access = new AccessPolicy(workspace);
    sessionSend = new SessionSendHandler(workspace, bus, sessions, inbound, new EventStore(pool));
    pairing = new Pairing(bus, new PairingStore(pool), Clock.systemUTC());
    return bus.<JsonObject>consumer(RoutingAddresses.INBOUND, this::onInbound).completion()
        .compose(v -> sessionSend.start())
        .compose(v -> replayUnfinished());
  }

  private void onInbound(Message<JsonObject> msg) {
    Inbound in;
    try {
      in = Inbound.fromJson(msg.body());
    } catch (RuntimeException e) {
      msg.fail(BusFailure.BAD_REQUEST, "malformed inbound: " + e.getMessage());
      return;
    }
    route(in, false).onSuccess(msg::reply).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }

  /** One agent's share of a message: its session key and whether it runs a turn. */
  private record Target(String agentId, String sessionKey, boolean trigger) {
  }

  /** {@code resumed}: routed again after a restart (its user message may already be stored). */
  Future<JsonObject> route(Inbound in, boolean resumed) {
    AccessPolicy.Decision decision = access.decide(in);
    if (decision.pairing()) {
      return pairing.isApproved(in).compose(approved -> approved ? admitted(in, AccessPolicy.Decision.admit(false), resumed)
          : challenge(in, decision));
    }
    return admitted(in, decision, resumed);
  }

  /**
   * A DM from someone not (yet) paired: no session, no model call; a code goes back where the rules
   * allow (Pairing). The message is stored as rejected, like any refused message.
   */
  private Future<JsonObject> challenge(Inbound in, AccessPolicy.Decision decision) {
    return pairing.challenge(in, "pairing:" + in.inboundId())
        .recover(err -> {
          LOG.warn("workspace {}: pairing reply for inbound {} on {}/{} failed: {}", workspace.id(), in.inboundId(),
              in.channel(), in.accountId(), err.getMessage());
          return Future.succeededFuture(null);
        })
        .compose(outcome -> {
          LOG.info("workspace {}: inbound {} on {}/{} refused: {}; pairing: {}", workspace.id(), in.inboundId(),
              in.channel(), in.accountId(), decision.reason(), outcome == null ? "failed" : outcome);
          return inbound.finish(in.inboundId(), InboundRecord.REJECTED)
              .map(v -> new JsonObject().put("runId", in.runId()).put("status", "pairing")
                  .put("pairing", outcome == null ? "failed" : outcome.name().toLowerCase(java.util.Locale.ROOT)));
        });
  }

  private Future<JsonObject> admitted(Inbound in, AccessPolicy.Decision decision, boolean resumed) {
    List<Target> targets;
    if (!decision.admitted()) {
      // nothing visible, no model call, no session: the refusal is only logged
      LOG.info("workspace {}: inbound {} on {}/{} refused: {}", workspace.id(), in.inboundId(), in.channel(),
          in.accountId(), decision.reason());
      return inbound.finish(in.inboundId(), InboundRecord.REJECTED)
          .map(v -> new JsonObject().put("runId", in.runId()).put("status", "rejected"));
    }
    Commands.Command parsed = Commands.parse(in.text());
    boolean commandAllowed = parsed == null || commandAllowed(in, parsed, decision.owner());
    try {
      targets = targets(in, decision.owner(), commandAllowed);
    } catch (IllegalArgumentException e) {
      return inbound.finish(in.inboundId(), InboundRecord.REJECTED)
          .compose(v -> Future.failedFuture(BusFailure.badRequest(e.getMessage())));
    }
    // a command runs only from a message that triggers a turn (so an unaddressed /new, /reset or /stop
    // of a group member is an ordinary untriggered message, stored with its command word)
    Commands.Command command = commandAllowed ? parsed : null;
    RoutingRules.Broadcast group = in.operator() ? null : bindings.broadcast(in);
    boolean sequential = group != null && group.mode().equals("sequential") && command == null;
    String text = modelText(in, decision.owner(), targets.get(0).trigger());
    Map<String, String> runs = new LinkedHashMap<>();
    targets.forEach(t -> runs.put(targets.size() == 1 ? in.runId() : in.runId() + "#" + t.agentId(), t.agentId()));
    boolean shared = targets.size() > 1 && in.inboundId() != null;
    // each agent of a broadcast holds a share of the message; after a restart only the unfinished ones run
    Future<Set<String>> finished = !shared ? Future.succeededFuture(Set.of())
        : inbound.addShares(in.inboundId(), runs)
            .compose(v -> resumed ? inbound.finishedShares(in.inboundId()) : Future.succeededFuture(Set.of()));
    List<String> runIds = List.copyOf(runs.keySet());
    return finished.compose(done -> {
      List<Future<JsonObject>> handed = new ArrayList<>();
      Future<JsonObject> previous = null;
      String previousRun = null;
      for (int i = 0; i < targets.size(); i++) {
        Target t = targets.get(i);
        String runId = runIds.get(i);
        if (done.contains(runId)) {
          LOG.info("workspace {}: inbound {}: agent {} answered before the restart; not again", workspace.id(),
              in.inboundId(), t.agentId());
          continue;
        }
        Future<JsonObject> f;
        if (sequential && previous != null) {
          // the next agent starts when the previous one's turn has ended
          String before = previousRun;
          f = previous.compose(x -> bus.request(LaneAddresses.WAIT, new JsonObject().put("runId", before)
                  .put("timeoutMs", workspace.limits().turnTimeoutMs() + 10_000), workspace.limits().turnTimeoutMs() + 20_000))
              .compose(x -> hand(in, t, runId, text, t.trigger() ? command : null, decision.owner(), resumed, shared));
        } else {
          f = hand(in, t, runId, text, t.trigger() ? command : null, decision.owner(), resumed, shared);
        }
        previous = f;
        previousRun = runId;
        handed.add(f);
      }
      if (handed.isEmpty()) {
        // every share had finished: only the message's own completion was missing
        return inbound.finish(in.inboundId(), InboundRecord.DONE)
            .map(v -> new JsonObject().put("runId", in.runId()).put("status", "ok"));
      }
      // a caller waits for the first agent it handed over; later agents of a sequential group follow on their own
      Future<JsonObject> first = handed.get(0);
      for (int i = 1; i < handed.size(); i++) {
        handed.get(i).onFailure(err -> LOG.warn("broadcast turn for inbound {} failed: {}", in.inboundId(), err.toString()));
      }
      return sequential ? first : Future.all(handed).map(x -> first.result());
    });
  }

  /**
   * In a group, {@code /new}, {@code /reset} and {@code /stop} change the conversation for everyone:
   * only an owner may send them unaddressed; anyone else has to address the agent (mention it, reply
   * to it, or name it in the command, {@code /new@bot}). Direct chats and operators are never gated.
   */
  static boolean commandAllowed(Inbound in, Commands.Command command, boolean owner) {
    if (in.isDirect() || in.operator() || owner || in.mentioned()) {
      return true;
    }
    return !GATED_COMMANDS.contains(command.name());
  }

  /** Hands one agent's share to its lane, which opens (or finds) the session behind the key. */
  private Future<JsonObject> hand(Inbound in, Target t, String runId, String text, Commands.Command command,
      boolean owner, boolean resumed, boolean shared) {
    TurnRequest turn = new TurnRequest(runId, in.inboundId(), t.sessionKey(), null, t.agentId(),
        command != null ? command.rest() : text, in.text(),
        new JsonObject().put("id", in.senderId()).put("name", in.senderName())
            .put("person", access.person(in)).put("owner", owner).put("operator", in.operator()),
        new ReplyTarget(in.channel(), in.accountId(), in.peerKind(), in.peerId(), in.threadId(), in.platformMessageId()),
        in.queueMode() != null ? in.queueMode() : workspace.session().queueMode(),
        t.trigger(), false, command == null ? null : command.name(), in.receivedAt(),
        SessionSource.of(in, t.sessionKey(), runId), metadata(in), resumed, shared);
    return bus.request(LaneAddresses.ENQUEUE, turn.toJson(), LANE_TIMEOUT_MS)
        .map(lane -> new JsonObject().put("runId", runId).put("sessionKey", t.sessionKey())
            .put("sessionId", lane.getString("sessionId")).put("agentId", t.agentId())
            .put("status", lane.getString("status")).put("reason", lane.getString("reason"))
            .put("triggered", t.trigger()));
  }

  /** Channel facts merged into the session's metadata (operators bring none). */
  private static JsonObject metadata(Inbound in) {
    JsonObject metadata = new JsonObject();
    if (!in.operator()) {
      metadata.put("channel", in.channel()).put("accountId", in.accountId())
          .put("peer", new JsonObject().put("kind", in.peerKind()).put("id", in.peerId()));
      if (in.threadId() != null) {
        metadata.put(in.threadKind(), in.threadId());
      }
    }
    return metadata;
  }

  /** The agents that get this message and their session keys. */
  private List<Target> targets(Inbound in, boolean owner, boolean commandAllowed) {
    if (in.operator()) {
      // an operator addresses a session (or an agent's main session) directly
      AgentConfig requested = in.agentId() == null ? null : workspace.agent(in.agentId());
      if (in.agentId() != null && requested == null) {
        throw new IllegalArgumentException("unknown agent \"" + in.agentId() + "\"");
      }
      String agentForKey = requested != null ? requested.id() : workspace.defaultAgent().id();
      String key = SessionKeys.canonical(in.sessionKey(), agentForKey, workspace.session().mainKey());
      String agentId = SessionKeys.agentOf(key);
      if (workspace.agent(agentId) == null) {
        throw new IllegalArgumentException("unknown agent \"" + agentId + "\" in session key");
      }
      return List.of(new Target(agentId, key, true));
    }
    // groups: owners always trigger, others when they mention the agent (unless mentions are not required)
    boolean trigger = commandAllowed && (in.isDirect() || owner || in.mentioned() || !access.requireMention(in));
    RoutingRules.Broadcast group = bindings.broadcast(in);
    List<String> agents = group != null ? group.agents() : List.of(bindings.resolve(in).agentId());
    List<Target> out = new ArrayList<>();
    for (String agentId : agents) {
      out.add(new Target(agentId, sessionKey(in, agentId), trigger));
    }
    return out;
  }

  /** The session key of a channel message for one agent. */
  String sessionKey(Inbound in, String agentId) {
    String person = access.person(in);
    String key;
    if (in.isDirect()) {
      key = SessionKeys.direct(agentId, workspace.session().dmScope(), workspace.session().mainKey(), in.channel(),
          in.accountId(), person);
    } else {
      // a thread that is its own chat (Discord) belongs under its parent chat
      String chat = in.parentPeerId() != null ? in.parentPeerId() : in.peerId();
      key = SessionKeys.group(agentId, in.channel(), in.peerKind(), chat);
      if (in.parentPeerId() != null) {
        key = SessionKeys.thread(key, in.peerId());
      }
    }
    if (in.threadId() != null) {
      key = "topic".equals(in.threadKind()) ? SessionKeys.topic(key, in.threadId()) : SessionKeys.thread(key, in.threadId());
    }
    if (!in.isDirect() && workspace.session().groupScope().equals("per-member")) {
      key = SessionKeys.member(key, person);
    }
    return key;
  }

  /** What the model sees: the message, an owner note when not addressed, and the reply context. */
  static String modelText(Inbound in, boolean owner, boolean trigger) {
    StringBuilder sb = new StringBuilder();
    if (!in.isDirect() && !in.operator() && owner && !in.mentioned() && trigger) {
      sb.append(NOT_ADDRESSED).append('\n');
    }
    sb.append(in.text());
    JsonObject r = in.replyTo();
    if (r != null && (r.getString("body") != null || r.getString("id") != null)) {
      sb.append("\n\n[Replying to ").append(r.getString("sender", "someone"));
      if (r.getString("id") != null) {
        sb.append(" (message ").append(r.getString("id")).append(')');
      }
      sb.append("]\n").append(r.getString("body", "")).append("\n[/Replying]");
    }
    return sb.toString();
  }

  /**
   * Messages accepted by an earlier process but not finished: route them again, in arrival order,
   * page by page until none is left. It ends at the newest one unfinished when it began (read from
   * the table, not the clock): messages arriving meanwhile are routed as they come.
   */
  private Future<Void> replayUnfinished() {
    return inbound.lastUnfinishedAt().compose(last -> last == null ? Future.succeededFuture(0)
        : replayPage(last, null, 0)).onSuccess(n -> {
      if (n > 0) {
        LOG.info("workspace {}: resumed {} queued message(s) from before the restart", workspace.id(), n);
      }
    }).mapEmpty();
  }

  private Future<Integer> replayPage(Instant startedAt, InboundRecord after, int resumedSoFar) {
    return inbound.unfinished(startedAt, after, REPLAY_PAGE).compose(list -> {
      if (list.isEmpty()) {
        return Future.succeededFuture(resumedSoFar);
      }
      return replay(list, 0).compose(v -> list.size() < REPLAY_PAGE ? Future.succeededFuture(resumedSoFar + list.size())
          : replayPage(startedAt, list.get(list.size() - 1), resumedSoFar + list.size()));
    });
  }

  private Future<Void> replay(List<InboundRecord> list, int i) {
    if (i >= list.size()) {
      return Future.succeededFuture();
    }
    InboundRecord rec = list.get(i);
    Future<JsonObject> resumed = SessionSendHandler.CHANNEL.equals(rec.channel()) ? sessionSend.resume(rec)
        : route(Inbound.fromJson(rec.payload()).withInboundId(rec.id()), true);
    return resumed
        .recover(err -> {
          LOG.warn("could not resume inbound {}: {}", rec.id(), err.getMessage());
          return Future.succeededFuture();
        })
        .compose(v -> replay(list, i + 1));
  }
}
