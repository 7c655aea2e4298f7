package dev.switchboard.channels.telegram;

import dev.switchboard.routing.Inbound;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * Turns a Telegram update into an {@link Inbound}, or says why it is ignored. What is taken and what
 * is not (docs/channels/telegram.md):
 *
 * <ul>
 *   <li>new messages with text, and media with a caption (the caption is the text), in private
 *       chats (direct), groups and supergroups (group); forum topics become {@code :topic:} sessions;</li>
 *   <li>the agent is mentioned by an {@code @botname} mention, a text mention of the bot, a bot
 *       command (to no bot in particular, or to this one), or a reply to one of the bot's messages;</li>
 *   <li>a reply carries the quoted part (or the whole replied-to message) as reply context;</li>
 *   <li>ignored: edited messages (the original was already answered; answering again would show a
 *       second reply), service messages (members joining, pins, topic changes), media without a
 *       caption, channel posts, messages from bots (no loops between bots), and commands addressed to
 *       another bot.</li>
 * </ul>
 *
 * Telegram message ids are unique only within a chat, so the platform message id is
 * {@code <chat id>:<message id>}.
 */
final class UpdateMapper {
  /** Who the bot is (from getMe): mentions and replies are recognised by these. */
  record BotIdentity(long id, String username) {
  }

  /** The message to hand in, or the reason the update is ignored. */
  record Result(Inbound inbound, String ignored) {
    static Result ignore(String why) {
      return new Result(null, why);
    }
  }

  private UpdateMapper() {
  }

  static Result map(String accountId, JsonObject update, BotIdentity bot) {
    JsonObject msg = update.getJsonObject("message");
    if (msg == null) {
      if (update.containsKey("edited_message")) {
        return Result.ignore("an edited message (its original was already handled)");
      }
      return Result.ignore("not a new message (" + String.join(",", update.fieldNames()) + ")");
    }
    JsonObject chat = msg.getJsonObject("chat", new JsonObject());
    String chatType = chat.getString("type", "");
    String peerKind = switch (chatType) {
      case "private" -> "direct";
      case "group", "supergroup" -> "group";
      default -> null;
    };
    if (peerKind == null || chat.getValue("id") == null) {
      return Result.ignore("a message in a " + (chatType.isEmpty() ? "chat of unknown type" : chatType));
    }
    JsonObject from = msg.getJsonObject("from");
    JsonObject senderChat = msg.getJsonObject("sender_chat");
    if (from != null && from.getBoolean("is_bot", false) && senderChat == null) {
      return Result.ignore("a message from a bot");
    }
    String text = msg.getString("text");
    JsonArray entities = msg.getJsonArray("entities");
    if (text == null) {
      text = msg.getString("caption");
      entities = msg.getJsonArray("caption_entities");
    }
    if (text == null || text.isBlank()) {
      return Result.ignore("a service message or media without a caption");
    }
    entities = entities == null ? new JsonArray() : entities;

    String senderId;
    String senderName;
    if (senderChat != null) {
      // an anonymous group admin, or a linked channel posting into its discussion group
      senderId = String.valueOf(senderChat.getValue("id"));
      senderName = senderChat.getString("title", senderChat.getString("username"));
    } else if (from != null && from.getValue("id") != null) {
      senderId = String.valueOf(from.getValue("id"));
      senderName = name(from);
    } else {
      return Result.ignore("a message without a sender");
    }

    boolean mentioned = false;
    for (int i = 0; i < entities.size(); i++) {
      JsonObject e = entities.getJsonObject(i);
      String part = slice(text, e);
      switch (e.getString("type", "")) {
        case "mention" -> mentioned |= bot.username() != null && part.equalsIgnoreCase("@" + bot.username());
        case "text_mention" -> mentioned |= e.getJsonObject("user", new JsonObject()).getLong("id", 0L) == bot.id();
        case "bot_command" -> {
          int at = part.indexOf('@');
          if (at < 0 || part.substring(at + 1).equalsIgnoreCase(String.valueOf(bot.username()))) {
            mentioned = true;
          } else if (e.getInteger("offset", -1) == 0 && "group".equals(peerKind)) {
            return Result.ignore("a command for another bot");
          }
        }
        default -> {
        }
      }
    }
    // "/new@thisbot rest" is "/new rest" to the gateway
    if (bot.username() != null) {
      String suffix = "@" + bot.username().toLowerCase(Locale.ROOT);
      int space = indexOfSpace(text);
      String head = text.substring(0, space);
      if (head.startsWith("/") && head.toLowerCase(Locale.ROOT).endsWith(suffix)) {
        text = head.substring(0, head.length() - suffix.length()) + text.substring(space);
      }
    }

    String chatId = String.valueOf(chat.getValue("id"));
    Inbound.Builder in = Inbound.from(TelegramChannelVerticle.CHANNEL, accountId)
        .platformMessageId(chatId + ":" + msg.getValue("message_id"))
        .peer(peerKind, chatId)
        .sender(senderId, senderName)
        .text(text);
    Object thread = msg.getValue("message_thread_id");
    if (msg.getBoolean("is_topic_message", false) && thread != null) {
      in.topic(String.valueOf(thread));
    }
    JsonObject reply = msg.getJsonObject("reply_to_message");
    // in a forum topic, a message that replies to nobody still points at the topic's first message
    boolean topicRoot = reply != null && (reply.containsKey("forum_topic_created")
        || (thread != null && String.valueOf(thread).equals(String.valueOf(reply.getValue("message_id")))));
    if (reply != null && !topicRoot) {
      JsonObject replyFrom = reply.getJsonObject("from", new JsonObject());
      boolean toBot = replyFrom.getLong("id", 0L) == bot.id();
      mentioned |= toBot;
      JsonObject quote = msg.getJsonObject("quote");
      String body = quote != null && quote.getString("text") != null ? quote.getString("text")
          : reply.getString("text", reply.getString("caption", ""));
      in.replyTo(String.valueOf(reply.getValue("message_id")), body, toBot ? "bot" : name(replyFrom));
    }
    return new Result(in.mentioned(mentioned).build(), null);
  }

  private static int indexOfSpace(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i;
      }
    }
    return text.length();
  }

  /** The entity's text; offsets and lengths are UTF-16 code units, as Java strings are. */
  private static String slice(String text, JsonObject entity) {
    int offset = entity.getInteger("offset", 0);
    int length = entity.getInteger("length", 0);
    if (offset < 0 || length < 0 || offset + length > text.length()) {
      return "";
    }
    return text.substring(offset, offset + length);
  }

  static String name(JsonObject user) {
    String first = user.getString("first_name");
    String last = user.getString("last_name");
    if (first != null) {
      return last == null ? first : first + " " + last;
    }
    return user.getString("username", user.getValue("id") == null ? "someone" : String.valueOf(user.getValue("id")));
  }
}
