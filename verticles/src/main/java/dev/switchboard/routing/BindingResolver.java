package dev.switchboard.routing;

import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.RoutingRules.Binding;
import dev.switchboard.workspace.WorkspaceConfig;
import java.util.List;
import java.util.Locale;

/**
 * Picks exactly one agent for an inbound message. First match wins, tier by tier: exact peer →
 * parent peer (a thread inherits its parent's binding) → peer wildcard → Discord guild (+ roles) →
 * Slack team → account → channel → the default agent. Within a tier, bindings are tried in file order.
 */
public final class BindingResolver {
  /** The precedence tiers, most specific first. */
  public enum Tier { PEER, PARENT_PEER, PEER_WILDCARD, GUILD, TEAM, ACCOUNT, CHANNEL, DEFAULT }

  /** The chosen agent and why: the tier and the binding's path in workspace.json (null for the default). */
  public record Match(String agentId, Tier tier, String bindingPath) {
  }

  private final WorkspaceConfig workspace;
  private final List<Binding> bindings;

  public BindingResolver(WorkspaceConfig workspace) {
    this.workspace = workspace;
    this.bindings = workspace.routing().bindings();
  }

  public Match resolve(Inbound in) {
    String peer = lower(in.peerId());
    String parent = lower(in.parentPeerId());
    for (Tier tier : Tier.values()) {
      if (tier == Tier.DEFAULT) {
        break;
      }
      for (Binding b : bindings) {
        if (tierOf(b) == tier.ordinal() || (tier == Tier.PARENT_PEER && tierOf(b) == Tier.PEER.ordinal())) {
          if (matches(b, tier, in, peer, parent)) {
            return new Match(b.agentId(), tier, b.path());
          }
        }
      }
    }
    return new Match(workspace.defaultAgent().id(), Tier.DEFAULT, null);
  }

  /** A binding's own tier: its most specific criterion. */
  private static int tierOf(Binding b) {
    if (b.peerId() != null) {
      return b.peerId().equals("*") ? Tier.PEER_WILDCARD.ordinal() : Tier.PEER.ordinal();
    }
    if (b.guildId() != null) {
      return Tier.GUILD.ordinal();
    }
    if (b.teamId() != null) {
      return Tier.TEAM.ordinal();
    }
    if (b.accountId() != null) {
      return Tier.ACCOUNT.ordinal();
    }
    return Tier.CHANNEL.ordinal();
  }

  private static boolean matches(Binding b, Tier tier, Inbound in, String peer, String parent) {
    if (b.channel() != null && !b.channel().equals(in.channel())) {
      return false;
    }
    if (b.accountId() != null && !b.accountId().equals(in.accountId())) {
      return false;
    }
    if (b.peerKind() != null && b.peerId() != null && !b.peerKind().equals(in.peerKind())) {
      return false;
    }
    return switch (tier) {
      case PEER -> b.peerId().equals(peer);
      case PARENT_PEER -> parent != null && b.peerId().equals(parent);
      case PEER_WILDCARD -> true;
      case GUILD -> b.guildId().equals(in.guildId()) && (b.roles().isEmpty() || b.roles().stream().anyMatch(in.roles()::contains));
      case TEAM -> b.teamId().equals(in.teamId());
      case ACCOUNT, CHANNEL -> true;
      case DEFAULT -> false;
    };
  }

  /** The broadcast group for this peer, or null. */
  public RoutingRules.Broadcast broadcast(Inbound in) {
    String peer = lower(in.peerId());
    String parent = lower(in.parentPeerId());
    for (RoutingRules.Broadcast g : workspace.routing().broadcasts()) {
      if ((g.channel() == null || g.channel().equals(in.channel())) && g.peerKind().equals(in.peerKind())
          && (g.peerId().equals(peer) || g.peerId().equals(parent))) {
        return g;
      }
    }
    return null;
  }

  private static String lower(String s) {
    return s == null ? null : s.toLowerCase(Locale.ROOT);
  }
}
