package dev.switchboard.routing;

import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.RoutingRules.ChannelAccount;
import dev.switchboard.workspace.WorkspaceConfig;
import java.util.Locale;

/**
 * Who may reach an agent. Deny by default: an account that is not configured, a DM sender not on
 * the allowlist, a group not allowed, all are refused without a model call, a session or a reply.
 * Operators (authenticated protocol clients) and configured owners are always admitted. On an
 * account with {@code dmPolicy: pairing} and an empty {@code allowFrom}, a DM sender is refused with
 * {@link Decision#pairing()} set: the caller then admits senders an operator approved and
 * challenges the others ({@link Pairing}). An allowlist always wins: under {@code allowlist}, and
 * under {@code pairing} once {@code allowFrom} lists anyone, pairing never applies (no code, and an
 * approval counts for nothing).
 */
public final class AccessPolicy {
  /**
   * The verdict: admitted or not (with the reason, for the log), whether the sender is an owner, and
   * whether a refused DM sender may pair (the account's policy is pairing).
   */
  public record Decision(boolean admitted, boolean owner, String reason, boolean pairing) {
    static Decision admit(boolean owner) {
      return new Decision(true, owner, null, false);
    }

    static Decision refuse(String reason) {
      return new Decision(false, false, reason, false);
    }

    static Decision pairable(String reason) {
      return new Decision(false, false, reason, true);
    }
  }

  private final RoutingRules rules;

  public AccessPolicy(WorkspaceConfig workspace) {
    this.rules = workspace.routing();
  }

  public boolean isOwner(Inbound in) {
    if (in.operator()) {
      return true;
    }
    String identity = RoutingRules.identity(in.channel(), in.senderId());
    String linked = rules.linkedUser(in.channel(), in.senderId());
    for (String o : rules.owners()) {
      String owner = o.toLowerCase(Locale.ROOT);
      if (owner.equals(identity) || (linked != null && owner.equals(linked.toLowerCase(Locale.ROOT)))) {
        return true;
      }
    }
    return false;
  }

  public Decision decide(Inbound in) {
    if (in.operator()) {
      return Decision.admit(true);
    }
    ChannelAccount account = rules.account(in.channel(), in.accountId());
    if (account == null) {
      return Decision.refuse("no account " + in.channel() + "/" + in.accountId() + " is configured");
    }
    boolean owner = isOwner(in);
    if (in.isDirect()) {
      if (owner) {
        return Decision.admit(true);
      }
      return switch (account.dmPolicy()) {
        case "open" -> Decision.admit(false);
        case "disabled" -> Decision.refuse("direct messages are disabled on " + in.channel() + "/" + in.accountId());
        case "pairing" -> allowListed(account, in) ? Decision.admit(false)
            : account.pairs() ? Decision.pairable("sender " + in.senderId() + " is not paired with " + in.channel() + "/"
                + in.accountId())
            : Decision.refuse("sender " + in.senderId() + " is not on the allowlist of " + in.channel() + "/"
                + in.accountId() + " (no pairing while allowFrom lists anyone)");
        default -> allowListed(account, in) ? Decision.admit(false)
            : Decision.refuse("sender " + in.senderId() + " is not on the allowlist of " + in.channel() + "/" + in.accountId());
      };
    }
    return switch (account.groupPolicy()) {
      case "open" -> Decision.admit(owner);
      case "disabled" -> Decision.refuse("groups are disabled on " + in.channel() + "/" + in.accountId());
      default -> groupAllowed(account, in) || owner ? Decision.admit(owner)
          : Decision.refuse("group " + in.peerId() + " is not allowed on " + in.channel() + "/" + in.accountId());
    };
  }

  private boolean allowListed(ChannelAccount account, Inbound in) {
    String identity = RoutingRules.identity(in.channel(), in.senderId());
    String linked = rules.linkedUser(in.channel(), in.senderId());
    for (String a : account.allowFrom()) {
      String allowed = a.toLowerCase(Locale.ROOT);
      if (allowed.equals("*") || allowed.equals(String.valueOf(in.senderId()).toLowerCase(Locale.ROOT))
          || allowed.equals(identity) || (linked != null && allowed.equals(linked.toLowerCase(Locale.ROOT)))) {
        return true;
      }
    }
    return false;
  }

  private static boolean groupAllowed(ChannelAccount account, Inbound in) {
    String peer = String.valueOf(in.peerId()).toLowerCase(Locale.ROOT);
    String parent = in.parentPeerId() == null ? null : in.parentPeerId().toLowerCase(Locale.ROOT);
    return account.groups().contains("*") || account.groups().contains(peer)
        || (parent != null && account.groups().contains(parent));
  }

  /** Whether unmentioned group messages need a mention to trigger a turn on this account. */
  public boolean requireMention(Inbound in) {
    ChannelAccount account = rules.account(in.channel(), in.accountId());
    return account == null || account.requireMention();
  }

  /** The person behind a sender: the linked user name when identities link them, else the platform id. */
  public String person(Inbound in) {
    String linked = rules.linkedUser(in.channel(), in.senderId());
    return linked != null ? linked : in.senderId();
  }
}
