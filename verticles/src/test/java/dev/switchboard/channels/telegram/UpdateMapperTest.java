package dev.switchboard.channels.telegram;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.routing.Inbound;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Telegram updates as the gateway reads them: what is a message, who is mentioned, what is ignored. */
class UpdateMapperTest {
  static final UpdateMapper.BotIdentity BOT = new UpdateMapper.BotIdentity(42, "Helper_Bot");

  static JsonObject message(String chatType, long chatId, String text) {
    return new JsonObject().put("message_id", 7).put("date", 0)
        .put("chat", new JsonObject().put("id", chatId).put("type", chatType))
        .put("from", new JsonObject().put("id", 1001).put("is_bot", false).put("first_name", "Ada").put("last_name", "L"))
        .put("text", text);
  }

  static JsonObject update(JsonObject message) {
    return new JsonObject().put("update_id", 1).put("message", message);
  }

  static JsonObject entity(String type, int offset, int length) {
    return new JsonObject().put("type", type).put("offset", offset).put("length", length);
  }

  static Inbound in(JsonObject message) {
    UpdateMapper.Result r = UpdateMapper.map("acc", update(message), BOT);
    assertThat(r.ignored()).isNull();
    return r.inbound();
  }

  static String ignored(JsonObject update) {
    UpdateMapper.Result r = UpdateMapper.map("acc", update, BOT);
    assertThat(r.inbound()).isNull();
    return r.ignored();
  }

  @Test
  @DisplayName("a private message is a direct message whose id includes the chat (message ids are unique per chat only)")
  void direct() {
    Inbound in = in(message("private", 1001, "hello"));
    assertThat(in.peerKind()).isEqualTo("direct");
    assertThat(in.peerId()).isEqualTo("1001");
    assertThat(in.platformMessageId()).isEqualTo("1001:7");
    assertThat(in.senderId()).isEqualTo("1001");
    assertThat(in.senderName()).isEqualTo("Ada L");
    assertThat(in.channel()).isEqualTo("telegram");
    assertThat(in.accountId()).isEqualTo("acc");
    assertThat(in.mentioned()).isFalse();
  }

  @Test
  @DisplayName("mentions: @botname (any case), a text mention, a bare or addressed command, a reply to the bot; not @others")
  void mentions() {
    assertThat(in(message("supergroup", -5, "hi @helper_bot!").put("entities", new JsonArray()
        .add(entity("mention", 3, 11)))).mentioned()).isTrue();
    assertThat(in(message("supergroup", -5, "hi @someone").put("entities", new JsonArray()
        .add(entity("mention", 3, 8)))).mentioned()).isFalse();
    assertThat(in(message("supergroup", -5, "hey you").put("entities", new JsonArray()
        .add(entity("text_mention", 4, 3).put("user", new JsonObject().put("id", 42))))).mentioned()).isTrue();
    Inbound addressed = in(message("supergroup", -5, "/new@Helper_Bot start over").put("entities", new JsonArray()
        .add(entity("bot_command", 0, 15))));
    assertThat(addressed.mentioned()).isTrue();
    assertThat(addressed.text()).isEqualTo("/new start over");
    assertThat(in(message("supergroup", -5, "/status").put("entities", new JsonArray()
        .add(entity("bot_command", 0, 7)))).mentioned()).isTrue();
    Inbound reply = in(message("supergroup", -5, "yes").put("reply_to_message", new JsonObject().put("message_id", 3)
        .put("from", new JsonObject().put("id", 42).put("is_bot", true)).put("text", "Shall I?")));
    assertThat(reply.mentioned()).isTrue();
    assertThat(reply.replyTo()).isEqualTo(new JsonObject().put("id", "3").put("body", "Shall I?").put("sender", "bot"));
  }

  @Test
  @DisplayName("offsets are UTF-16 code units: a mention after an emoji is found")
  void utf16Offsets() {
    String text = "\uD83D\uDE00 @Helper_Bot";
    assertThat(in(message("group", -5, text).put("entities", new JsonArray().add(entity("mention", 3, 11))))
        .mentioned()).isTrue();
  }

  @Test
  @DisplayName("a forum topic message is a topic; its pointer to the topic's first message is not a reply")
  void topics() {
    JsonObject msg = message("supergroup", -100, "in topic").put("message_thread_id", 9).put("is_topic_message", true)
        .put("reply_to_message", new JsonObject().put("message_id", 9).put("forum_topic_created",
            new JsonObject().put("name", "T")));
    msg.getJsonObject("chat").put("is_forum", true);
    Inbound in = in(msg);
    assertThat(in.threadId()).isEqualTo("9");
    assertThat(in.threadKind()).isEqualTo("topic");
    assertThat(in.replyTo()).isNull();
    assertThat(in.mentioned()).isFalse();
    // a thread id without a topic (a reply thread in a plain supergroup) is the chat itself
    assertThat(in(message("supergroup", -100, "x").put("message_thread_id", 3)).threadId()).isNull();
  }

  @Test
  @DisplayName("a quote is the reply context when the user quoted part of a message; captions are text")
  void quotesAndCaptions() {
    Inbound quoted = in(message("private", 1, "this part").put("quote", new JsonObject().put("text", "part of it"))
        .put("reply_to_message", new JsonObject().put("message_id", 2).put("text", "all of it and part of it")
            .put("from", new JsonObject().put("id", 5).put("first_name", "Bo"))));
    assertThat(quoted.replyTo().getString("body")).isEqualTo("part of it");
    assertThat(quoted.replyTo().getString("sender")).isEqualTo("Bo");
    JsonObject photo = message("private", 1, null).put("caption", "see @helper_bot").put("caption_entities",
        new JsonArray().add(entity("mention", 4, 11)));
    photo.remove("text");
    Inbound caption = in(photo);
    assertThat(caption.text()).isEqualTo("see @helper_bot");
    assertThat(caption.mentioned()).isTrue();
  }

  @Test
  @DisplayName("an anonymous admin writes as the group: the sender is the chat")
  void senderChat() {
    Inbound in = in(message("supergroup", -7, "announcement").put("from", new JsonObject().put("id", 1087968824)
        .put("is_bot", true).put("first_name", "Group")).put("sender_chat", new JsonObject().put("id", -7)
        .put("title", "The Group")));
    assertThat(in.senderId()).isEqualTo("-7");
    assertThat(in.senderName()).isEqualTo("The Group");
  }

  @Test
  @DisplayName("ignored on purpose: edits, service messages, media without caption, channel posts, bots, commands to other bots")
  void ignoredOnPurpose() {
    assertThat(ignored(new JsonObject().put("update_id", 1).put("edited_message", message("private", 1, "fixed typo"))))
        .contains("edited");
    JsonObject service = message("supergroup", -1, null).put("new_chat_members", new JsonArray());
    service.remove("text");
    assertThat(ignored(update(service))).contains("service message");
    assertThat(ignored(update(message("channel", -3, "post")))).contains("channel");
    assertThat(ignored(new JsonObject().put("update_id", 1).put("channel_post", message("channel", -3, "x"))))
        .contains("not a new message");
    JsonObject fromBot = message("private", 1, "beep");
    fromBot.getJsonObject("from").put("is_bot", true);
    assertThat(ignored(update(fromBot))).contains("bot");
    assertThat(ignored(update(message("supergroup", -5, "/new@other_bot").put("entities", new JsonArray()
        .add(entity("bot_command", 0, 14)))))).contains("another bot");
  }
}
