package dev.switchboard.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChunkerTest {
  static final Pattern FENCE = Pattern.compile("(?m)^[ \\t]*(```|~~~)");

  static boolean balanced(String chunk) {
    Matcher m = FENCE.matcher(chunk);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n % 2 == 0;
  }

  @Test
  @DisplayName("a short text is one chunk, unchanged")
  void short_() {
    assertThat(Chunker.split("hello **world**", 100)).containsExactly("hello **world**");
  }

  @Test
  @DisplayName("C7: a reply 2.4x the cap becomes several chunks within the cap that concatenate to the reply, fences intact")
  void longReplyWithCode() {
    String para = "This paragraph explains a step in some detail, with enough words to matter. ";
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      sb.append(para.repeat(3)).append("\n\n");
      sb.append("```java\nint x").append(i).append(" = ").append(i).append(";\nSystem.out.println(x").append(i)
          .append(");\n```\n\n");
    }
    String text = sb.toString().strip();
    int cap = (int) (text.length() / 2.4);
    List<String> chunks = Chunker.split(text, cap);
    assertThat(chunks).hasSizeGreaterThanOrEqualTo(2);
    assertThat(String.join("", chunks)).isEqualTo(text);
    for (String c : chunks) {
      assertThat(c.length()).isLessThanOrEqualTo(cap);
      assertThat(balanced(c)).as("fences balanced in %s", c).isTrue();
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 42, 1234, 99999})
  @DisplayName("random replies: chunks are within the cap, lossless and never open a fence they do not close")
  void randomReplies(long seed) {
    Random r = new Random(seed);
    StringBuilder sb = new StringBuilder();
    String[] words = {"alpha", "beta", "gamma.", "delta!", "epsilon", "x", "averyveryveryverylongword", "**bold**", "`code`"};
    for (int block = 0; block < 30; block++) {
      if (r.nextInt(5) == 0) {
        sb.append("```py\n");
        for (int l = 0; l < 1 + r.nextInt(4); l++) {
          sb.append("print(").append(r.nextInt(1000)).append(")\n");
        }
        sb.append("```\n\n");
      } else {
        for (int w = 0; w < 5 + r.nextInt(40); w++) {
          sb.append(words[r.nextInt(words.length)]).append(r.nextInt(8) == 0 ? "\n" : " ");
        }
        sb.append("\n\n");
      }
    }
    String text = sb.toString();
    int cap = 120 + r.nextInt(200);
    List<String> chunks = Chunker.split(text, cap);
    assertThat(String.join("", chunks)).isEqualTo(text);
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.length()).isLessThanOrEqualTo(cap);
      assertThat(balanced(c)).isTrue();
    });
  }

  @Test
  @DisplayName("a single code block longer than a chunk is cut at lines, each piece closed and reopened")
  void oversizedCodeBlock() {
    StringBuilder code = new StringBuilder("intro\n\n```sql\n");
    for (int i = 0; i < 40; i++) {
      code.append("SELECT ").append(i).append(" FROM dual;\n");
    }
    code.append("```\nafter");
    List<String> chunks = Chunker.split(code.toString(), 200);
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.length()).isLessThanOrEqualTo(200);
      assertThat(balanced(c)).isTrue();
    });
    assertThat(chunks.stream().filter(c -> c.startsWith("```sql")).count()).isGreaterThan(1);
    String joined = String.join("", chunks).replaceAll("```\n```sql\n", "");
    assertThat(joined).isEqualTo(code.toString());
  }

  @Test
  @DisplayName("cuts prefer paragraph breaks over lines over sentences over spaces")
  void cutPreference() {
    String text = "First paragraph ends here.\n\nSecond one is a little longer. It has two sentences and goes on";
    List<String> chunks = Chunker.split(text, 60);
    assertThat(chunks.get(0)).isEqualTo("First paragraph ends here.\n\n");
  }
}
