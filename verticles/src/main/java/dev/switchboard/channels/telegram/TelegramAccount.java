package dev.switchboard.channels.telegram;

import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.config.ConfigReader;
import dev.switchboard.config.Secret;
import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One Telegram bot as configured in {@code channels.telegram.accounts[]} (access keys such as
 * {@code dmPolicy} are routing's; these are the adapter's). See docs/channels/telegram.md.
 *
 * @param path               the key path of the account, for problems found later (a refused token)
 * @param token              the bot token from @BotFather
 * @param apiBaseUrl         Bot API base URL, without a trailing slash
 * @param webhook            true: Telegram POSTs updates to {@code webhookUrl}; false: long polling
 * @param pollingForced      {@code mode: polling} is written out: a webhook someone else set is deleted
 * @param pollTimeoutSeconds how long one getUpdates call waits for updates
 * @param webhookUrl         the public URL that reaches {@code /channels/telegram/<id>/webhook} on the workspace port
 * @param webhookSecret      sent by Telegram in {@code X-Telegram-Bot-Api-Secret-Token}, checked on every update
 * @param replyToMode        {@code off | first | all}: which chunks of a reply quote the user's message
 * @param streaming          replies stream into a message that is edited as text arrives
 * @param editThrottleMs     least time between two edits in one chat
 * @param typing             show "typing…" while a turn runs
 * @param typingIntervalMs   how often the typing indicator is renewed (Telegram shows it for 5 s)
 * @param commands           the command menu ({@code [{command, description}]}), sent when it changed
 * @param requestTimeoutMs   how long one Bot API call (other than getUpdates) may take
 */
record TelegramAccount(String id, String path, Secret token, String apiBaseUrl, boolean webhook,
    boolean pollingForced, int pollTimeoutSeconds, URI webhookUrl, Secret webhookSecret, String replyToMode,
    boolean streaming, long editThrottleMs, boolean typing, long typingIntervalMs, JsonArray commands,
    long requestTimeoutMs) {

  static final String DEFAULT_API = "https://api.telegram.org";
  static final List<String> REPLY_MODES = List.of("off", "first", "all");
  private static final Pattern TOKEN = Pattern.compile("\\d{1,20}:[A-Za-z0-9_-]{1,200}");
  private static final Pattern WEBHOOK_SECRET = Pattern.compile("[A-Za-z0-9_-]{1,256}");
  private static final Pattern COMMAND = Pattern.compile("[a-z0-9_]{1,32}");

  /** The commands the gateway understands in any chat, as the default menu. */
  static JsonArray defaultCommands() {
    return new JsonArray()
        .add(command("new", "Start a new conversation"))
        .add(command("reset", "Start over (same as /new)"))
        .add(command("stop", "Stop the reply being written"))
        .add(command("status", "What is running and waiting"));
  }

  private static JsonObject command(String name, String description) {
    return new JsonObject().put("command", name).put("description", description);
  }

  /** The adapter keys of every {@code channels.telegram.accounts[]} entry; all problems at once, with paths. */
  static List<TelegramAccount> parse(WorkspaceConfig ws, Map<String, String> env) {
    List<TelegramAccount> out = new ArrayList<>();
    List<ConfigProblem> problems = new ArrayList<>();
    Map<String, String> tokens = new HashMap<>();
    String file = ws.dir().resolve("workspace.json").toString();
    for (RoutingRules.ChannelAccount acc : ws.routing().accounts()) {
      if (!acc.channel().equals(TelegramChannelVerticle.CHANNEL)) {
        continue;
      }
      ConfigReader r = ConfigReader.at(acc.raw(), file, acc.path(), env);
      Secret token = r.secret("botToken");
      if (token == null && r.problems().isEmpty()) {
        r.problem("botToken", "is required (the token @BotFather gave the bot)");
      } else if (token != null && !TOKEN.matcher(token.reveal()).matches()) {
        // never echo the value: it may be a real token with a typo
        r.problem("botToken", "does not look like a bot token (digits, a colon, then letters, digits, '-' or '_')");
      } else if (token != null) {
        String other = tokens.putIfAbsent(token.reveal(), acc.id());
        if (other != null) {
          r.problem("botToken", "is the same bot as account \"" + other + "\"; one bot can only be one account");
        }
      }
      String api = r.string("apiBaseUrl", DEFAULT_API);
      api = api.endsWith("/") ? api.substring(0, api.length() - 1) : api;
      url(r, "apiBaseUrl", api);
      boolean modeWritten = r.has("mode");
      String mode = r.string("mode", "polling");
      if (!List.of("polling", "webhook").contains(mode)) {
        r.problem("mode", "must be polling or webhook, got \"" + mode + "\"");
      }
      boolean webhook = mode.equals("webhook");
      int pollTimeout = r.integer("pollTimeoutSeconds", 30, 0, 50);
      String hookUrl = r.string("webhookUrl", null);
      URI webhookUrl = null;
      Secret webhookSecret = r.secret("webhookSecret");
      if (webhook) {
        if (hookUrl == null) {
          r.problem("webhookUrl", "is required in webhook mode (the public URL Telegram POSTs updates to)");
        } else {
          webhookUrl = url(r, "webhookUrl", hookUrl);
        }
        if (webhookSecret == null && !r.has("webhookSecret")) {
          r.problem("webhookSecret", "is required in webhook mode (Telegram sends it with every update)");
        }
      }
      if (webhookSecret != null && !WEBHOOK_SECRET.matcher(webhookSecret.reveal()).matches()) {
        r.problem("webhookSecret", "must be 1-256 characters: letters, digits, '-' or '_'");
      }
      String replyToMode = r.string("replyToMode", "off");
      if (!REPLY_MODES.contains(replyToMode)) {
        r.problem("replyToMode", "must be one of " + String.join(", ", REPLY_MODES) + ", got \"" + replyToMode + "\"");
      }
      boolean streaming = r.bool("streaming", true);
      long editThrottleMs = r.longValue("editThrottleMs", 1_000, 100, 60_000);
      boolean typing = r.bool("typing", true);
      long typingIntervalMs = r.longValue("typingIntervalMs", 4_000, 100, 5_000);
      long requestTimeoutMs = r.longValue("requestTimeoutMs", 10_000, 500, 25_000);
      JsonArray commands = commands(r);
      problems.addAll(r.problems());
      if (r.problems().isEmpty()) {
        out.add(new TelegramAccount(acc.id(), file + ": " + acc.path(), token, api, webhook, modeWritten && !webhook,
            pollTimeout, webhookUrl, webhookSecret, replyToMode, streaming, editThrottleMs, typing, typingIntervalMs,
            commands, requestTimeoutMs));
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return out;
  }

  private static JsonArray commands(ConfigReader r) {
    if (!r.has("commands")) {
      return defaultCommands();
    }
    JsonArray out = new JsonArray();
    int i = 0;
    for (ConfigReader c : r.objects("commands")) {
      String key = "commands[" + i++ + "]";
      String name = c.string("command", null);
      String description = c.string("description", null);
      if (name == null || !COMMAND.matcher(name).matches()) {
        r.problem(key + ".command", "must be 1-32 lower-case letters, digits or '_' (without the slash)");
      }
      if (description == null || description.isBlank() || description.length() > 256) {
        r.problem(key + ".description", "must be 1-256 characters");
      }
      out.add(command(name, description));
    }
    if (out.size() > 100) {
      r.problem("commands", "Telegram takes at most 100 commands");
    }
    return out;
  }

  private static URI url(ConfigReader r, String key, String value) {
    try {
      URI u = URI.create(value);
      if (!List.of("http", "https").contains(String.valueOf(u.getScheme())) || u.getHost() == null) {
        r.problem(key, "must be an http:// or https:// URL, got \"" + value + "\"");
        return null;
      }
      return u;
    } catch (IllegalArgumentException e) {
      r.problem(key, "is not a URL: " + e.getMessage());
      return null;
    }
  }

  /** {@code <message id>} of a platform message id {@code <chat>:<message>}, or null. */
  static Long messageIdOf(String platformMessageId) {
    if (platformMessageId == null) {
      return null;
    }
    try {
      return Long.parseLong(platformMessageId.substring(platformMessageId.lastIndexOf(':') + 1));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
