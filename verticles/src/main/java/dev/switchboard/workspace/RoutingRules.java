package dev.switchboard.workspace;

import dev.switchboard.config.ConfigReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The routing part of a workspace file: who owns it, which identities are one person, which agent
 * answers where (bindings), which peers several agents answer (broadcast groups), and the access
 * rules of every channel account. Parsed and validated with the rest of workspace.json.
 */
public record RoutingRules(
    List<String> owners,
    Map<String, String> identityLinks,
    List<Binding> bindings,
    List<Broadcast> broadcasts,
    List<ChannelAccount> accounts) {
  /** The kinds of chat a message comes from or a reply goes to. */
  public static final List<String> PEER_KINDS = List.of("direct", "group", "channel");
  private static final Pattern CHANNEL = Pattern.compile("[a-z][a-z0-9_-]{0,31}");

  /**
   * One binding: the agent that answers messages matching {@code match}. A binding's tier is its
   * most specific criterion: peer, parent peer (a thread's parent chat), peer wildcard
   * ({@code "*"}), Discord guild (with roles), Slack team, account, channel.
   */
  public record Binding(String agentId, String channel, String accountId, String peerKind, String peerId,
      String guildId, List<String> roles, String teamId, String path) {
  }

  /**
   * Several agents answering one peer, {@code parallel} or {@code sequential} (in list order).
   */
  public record Broadcast(String channel, String peerKind, String peerId, List<String> agents, String mode) {
  }

  /**
   * Access rules of one channel account.
   *
   * @param dmPolicy       {@code allowlist | pairing | open | disabled}; defaults to allowlist when
   *                       {@code allowFrom} lists anyone, else pairing
   * @param allowFrom      senders allowed to DM (platform ids, {@code channel:id} or linked names; {@code *} = anyone)
   * @param groupPolicy    {@code open | allowlist | disabled}
   * @param groups         group/room ids allowed when groupPolicy is allowlist
   * @param requireMention non-owners must mention the agent in groups
   * @param raw            the account object as written (adapter-specific keys)
   */
  public record ChannelAccount(String channel, String id, String dmPolicy, List<String> allowFrom,
      String groupPolicy, List<String> groups, boolean requireMention, io.vertx.core.json.JsonObject raw,
      String path) {

    /**
     * Whether unknown DM senders get pairing codes: only under {@code pairing} with an empty
     * {@code allowFrom}. An allowlist always wins, so once it lists anyone, pairing is off.
     */
    public boolean pairs() {
      return dmPolicy.equals("pairing") && allowFrom.isEmpty();
    }
  }

  public static final List<String> DM_POLICIES = List.of("allowlist", "pairing", "open", "disabled");
  public static final List<String> GROUP_POLICIES = List.of("open", "allowlist", "disabled");

  /** The linked user name of {@code channel:id}, or null. */
  public String linkedUser(String channel, String senderId) {
    return identityLinks.get(identity(channel, senderId));
  }

  public ChannelAccount account(String channel, String accountId) {
    for (ChannelAccount a : accounts) {
      if (a.channel().equals(channel) && a.id().equals(accountId)) {
        return a;
      }
    }
    return null;
  }

  /**
   * Whether direct messages can only ever come from the people {@code allowFrom} lists: every
   * account is {@code allowlist} or {@code disabled} and none allows {@code *}. Only then may DMs
   * share one session by default.
   */
  public boolean onlyListedSendersDm() {
    return accounts.stream().allMatch(a -> (a.dmPolicy().equals("allowlist") || a.dmPolicy().equals("disabled"))
        && !a.allowFrom().contains("*"));
  }

  /** Distinct senders allowed to DM across every account ({@code *} not counted). */
  public int allowedSenderCount() {
    Set<String> people = new LinkedHashSet<>();
    for (ChannelAccount a : accounts) {
      for (String s : a.allowFrom()) {
        if (!s.equals("*")) {
          String linked = identityLinks.get(s.contains(":") ? s.toLowerCase(Locale.ROOT) : identity(a.channel(), s));
          people.add(linked != null ? "user:" + linked : s.contains(":") ? s : a.channel() + ":" + s);
        }
      }
    }
    return people.size();
  }

  public static String identity(String channel, String senderId) {
    return (channel + ":" + senderId).toLowerCase(Locale.ROOT);
  }

  static RoutingRules read(ConfigReader r, Set<String> agentIds) {
    List<String> owners = r.strings("owners");

    Map<String, String> links = new LinkedHashMap<>();
    ConfigReader ids = r.object("identities");
    for (String user : ids.keys()) {
      for (String id : ids.strings(user)) {
        if (!id.contains(":")) {
          ids.problem(user, "identity \"" + id + "\" must be written channel:userId");
          continue;
        }
        String prev = links.put(id.toLowerCase(Locale.ROOT), user);
        if (prev != null && !prev.equals(user)) {
          ids.problem(user, "identity \"" + id + "\" is already linked to \"" + prev + "\"");
        }
      }
    }

    List<Binding> bindings = new ArrayList<>();
    int i = 0;
    for (ConfigReader b : r.objects("bindings")) {
      String path = "bindings[" + i++ + "]";
      String agentId = b.string("agentId", null);
      if (agentId == null) {
        b.problem("agentId", "is required");
      } else if (!agentIds.contains(agentId)) {
        b.problem("agentId", "no agent \"" + agentId + "\" in agents[]");
      }
      ConfigReader m = b.object("match");
      String channel = channel(m, "channel");
      String account = m.string("accountId", null);
      String peerKind = null;
      String peerId = null;
      if (m.has("peer")) {
        ConfigReader p = m.object("peer");
        peerKind = p.string("kind", null);
        if (peerKind != null && !PEER_KINDS.contains(peerKind)) {
          p.problem("kind", "must be direct, group or channel, got \"" + peerKind + "\"");
        }
        peerId = p.string("id", null);
        if (peerId == null) {
          p.problem("id", "is required (a platform id, or \"*\" for any peer of that kind)");
        }
        p.finish();
      }
      String guild = m.string("guildId", null);
      List<String> roles = m.strings("roles");
      String team = m.string("teamId", null);
      if (!roles.isEmpty() && guild == null) {
        m.problem("roles", "needs guildId");
      }
      if (channel == null && account == null && peerId == null && guild == null && team == null) {
        b.problem("match", "must name at least a channel");
      }
      m.finish();
      b.finish();
      bindings.add(new Binding(agentId, channel, account, peerKind, peerId == null ? null : peerId.toLowerCase(Locale.ROOT),
          guild, roles, team, path));
    }

    List<Broadcast> broadcasts = new ArrayList<>();
    for (ConfigReader b : r.objects("broadcast")) {
      String channel = channel(b, "channel");
      ConfigReader p = b.object("peer");
      String kind = p.string("kind", "group");
      String id = p.string("id", null);
      if (id == null) {
        p.problem("id", "is required");
      }
      p.finish();
      List<String> agents = b.strings("agents");
      if (agents.size() < 2) {
        b.problem("agents", "a broadcast group needs at least two agents");
      }
      for (String a : agents) {
        if (!agentIds.contains(a)) {
          b.problem("agents", "no agent \"" + a + "\" in agents[]");
        }
      }
      if (new java.util.HashSet<>(agents).size() < agents.size()) {
        b.problem("agents", "lists an agent more than once: " + agents);
      }
      String mode = b.string("mode", "parallel");
      if (!List.of("parallel", "sequential").contains(mode)) {
        b.problem("mode", "must be parallel or sequential, got \"" + mode + "\"");
      }
      b.finish();
      broadcasts.add(new Broadcast(channel, kind, id == null ? null : id.toLowerCase(Locale.ROOT), agents, mode));
    }

    List<ChannelAccount> accounts = new ArrayList<>();
    ConfigReader channels = r.object("channels");
    for (String channel : channels.keys()) {
      if (!CHANNEL.matcher(channel).matches()) {
        channels.problem(channel, "channel names are lower-case letters, digits, '-' or '_'");
        continue;
      }
      ConfigReader ch = channels.object(channel);
      int n = 0;
      Set<String> accountIds = new LinkedHashSet<>();
      for (ConfigReader a : ch.objects("accounts")) {
        String path = "channels." + channel + ".accounts[" + n++ + "]";
        String id = a.string("id", "default");
        if (!accountIds.add(id)) {
          a.problem("id", "duplicate account id \"" + id + "\"");
        }
        List<String> allowFrom = a.strings("allowFrom");
        // an allowlist always wins: with anyone listed, only they may DM unless a policy is chosen
        String dmPolicy = a.string("dmPolicy", allowFrom.isEmpty() ? "pairing" : "allowlist");
        if (!DM_POLICIES.contains(dmPolicy)) {
          a.problem("dmPolicy", "must be one of " + String.join(", ", DM_POLICIES) + ", got \"" + dmPolicy + "\"");
        } else if (dmPolicy.equals("pairing") && !allowFrom.isEmpty()) {
          a.warning("dmPolicy", "pairing codes are not issued while allowFrom lists anyone: only the senders it"
              + " lists can DM (an allowlist always wins); empty allowFrom to pair unknown senders");
        }
        String groupPolicy = a.string("groupPolicy", "allowlist");
        if (!GROUP_POLICIES.contains(groupPolicy)) {
          a.problem("groupPolicy", "must be one of " + String.join(", ", GROUP_POLICIES) + ", got \"" + groupPolicy + "\"");
        }
        List<String> groups = a.strings("groups");
        boolean requireMention = a.bool("requireMention", true);
        // adapter-specific keys are the adapter's to validate
        accounts.add(new ChannelAccount(channel, id, dmPolicy, allowFrom, groupPolicy,
            groups.stream().map(g -> g.toLowerCase(Locale.ROOT)).toList(), requireMention, a.json(), path));
      }
      ch.rawRest();
    }
    return new RoutingRules(List.copyOf(owners), Map.copyOf(links), List.copyOf(bindings), List.copyOf(broadcasts),
        List.copyOf(accounts));
  }

  private static String channel(ConfigReader r, String key) {
    String c = r.string(key, null);
    if (c != null && !CHANNEL.matcher(c).matches()) {
      r.problem(key, "must be a channel name such as telegram, slack, discord, webchat; got \"" + c + "\"");
      return null;
    }
    return c;
  }
}
