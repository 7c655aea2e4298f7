package dev.switchboard.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.switchboard.support.TelegramHtml;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FormatterTest {
  static final String MD = "# Plan\n**Bold** and *it* and `a<b>` with [docs](https://x.dev/a?b=1&c=2)\n"
      + "```js\nif (a < b && c > d) {}\n```\n<script>alert(1)</script> 5 > 3";

  @Test
  @DisplayName("Telegram HTML: everything escaped, Markdown turned into the tags Telegram supports")
  void html() {
    assertThat(Formatter.format(MD, "html")).isEqualTo("<b>Plan</b>\n<b>Bold</b> and <i>it</i> and <code>a&lt;b&gt;</code>"
        + " with <a href=\"https://x.dev/a?b=1&amp;c=2\">docs</a>\n"
        + "<pre><code class=\"language-js\">if (a &lt; b &amp;&amp; c &gt; d) {}</code></pre>\n"
        + "&lt;script&gt;alert(1)&lt;/script&gt; 5 &gt; 3");
  }

  @Test
  @DisplayName("Slack mrkdwn: bold with single stars, links as <url|text>, control characters escaped")
  void mrkdwn() {
    assertThat(Formatter.format("**b** *i* ~~s~~ [t](https://u.dev) a<b", "mrkdwn"))
        .isEqualTo("*b* _i_ ~s~ <https://u.dev|t> a&lt;b");
  }

  @Test
  @DisplayName("plain text keeps the words and drops the markers (the fallback when formatting is rejected)")
  void plain() {
    assertThat(Formatter.format("**b** `c` [t](https://u.dev)\n```\ncode\n```", "plain"))
        .isEqualTo("b c t (https://u.dev)\ncode");
  }

  @Test
  @DisplayName("unbalanced markers stay literal; markdown format is unchanged")
  void literal() {
    assertThat(Formatter.format("2 * 3 = 6 and a_b_c", "html")).isEqualTo("2 * 3 = 6 and a_b_c");
    assertThat(Formatter.format(MD, "markdown")).isEqualTo(MD);
  }

  /** Pieces models write, including the characters HTML cares about and half-finished markers. */
  static final List<String> PIECES = List.of("word", " ", "\n", "**bold**", "*it*", "_u_", "__b__", "~~s~~", "`c<d>`",
      "<", ">", "&", "&amp;", "\"", "'", "#", "# Head", "*", "**", "`", "_", "~", "[x](https://e.dev/?a=1&b=<2>)",
      "```py\nif a < b and c > d: pass\n```\n", "```\n&lt;raw&gt;\n```", "<b>not a tag</b>", "&#x41;", "a_b_c",
      "2 * 3", "emoji \uD83D\uDE00", "\t", "> quote", "- item");

  @Test
  @DisplayName("Telegram HTML, property: whatever the model writes, Telegram parses it, and shows the same words as plain text")
  void htmlAlwaysParses() {
    Random random = new Random(20_260_409L);
    for (int n = 0; n < 3_000; n++) {
      StringBuilder md = new StringBuilder();
      int len = 1 + random.nextInt(12);
      boolean link = false;
      for (int i = 0; i < len; i++) {
        String piece = PIECES.get(random.nextInt(PIECES.size()));
        link |= piece.startsWith("[x]");
        md.append(piece);
      }
      String text = md.toString();
      String html = Formatter.format(text, "html");
      assertThatCode(() -> TelegramHtml.parse(html)).as("markdown %s gave html %s", text, html).doesNotThrowAnyException();
      if (!link) {
        // a link shows its label in HTML and "label (url)" in plain text; everything else reads the same
        assertThat(TelegramHtml.parse(html).text()).as("markdown %s", text).isEqualTo(Formatter.format(text, "plain"));
      }
    }
  }
}
