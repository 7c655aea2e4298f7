package dev.switchboard.channels;

/** Event-bus addresses channel adapters consume (workspace-local names). */
public final class ChannelAddresses {
  private ChannelAddresses() {
  }

  /**
   * {@code channels.<channel>.<account>.webhook}: a platform's HTTP callback, forwarded by the
   * workspace's HTTP front. Body {@link Webhook#toJson()}; reply {@code {status, body, contentType}}.
   */
  public static String webhook(String channel, String accountId) {
    return "channels." + channel + "." + accountId + ".webhook";
  }

  /**
   * {@code channels.<channel>.<account>.status}: {@code {}} → what the account's transport is doing
   * ({@code {channel, accountId, mode, state, detail, since, ...}}), for the gateway's status view.
   * Adapters that have nothing to report do not consume it.
   */
  public static String status(String channel, String accountId) {
    return "channels." + channel + "." + accountId + ".status";
  }
}
