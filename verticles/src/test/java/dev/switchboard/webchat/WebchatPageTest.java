package dev.switchboard.webchat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.support.Browser;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;

/** B2: the webchat page in headless Chromium against a real gateway. */
@Timeout(180)
class WebchatPageTest {
  static TestGateway gateway;
  static ChromeDriver driver;
  static WebchatPage page;

  @BeforeAll
  static void start(@TempDir Path root, @TempDir Path profile) {
    JsonObject ws = new JsonObject().put("port", 0).put("name", "Browser test").put("agents", new JsonArray()
        .add(agent("main", 2, 40).put("default", true))
        .add(agent("slow", 1, 150)));
    gateway = TestGateway.standalone(root).workspace("main", ws).start();
    driver = Browser.start(profile);
    page = new WebchatPage(driver, "http://127.0.0.1:" + gateway.port("main"));
  }

  static JsonObject agent(String id, int chunkWords, int chunkDelayMs) {
    return new JsonObject().put("id", id).put("model", new JsonObject().put("provider", "echo")
        .put("options", new JsonObject().put("chunkWords", chunkWords).put("chunkDelayMs", chunkDelayMs)));
  }

  @AfterAll
  static void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  static String newKey(String agent) {
    return "agent:" + agent + ":web-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  @DisplayName("type a message, watch the reply stream in, reload and see the history once")
  void typeStreamReload() {
    String key = newKey("main");
    page.open(TestGateway.TOKEN, key);
    // the token left the address bar and lives in this tab's session storage
    assertThat(driver.getCurrentUrl()).doesNotContain("token").doesNotContain(TestGateway.TOKEN);
    assertThat(page.js("return sessionStorage.getItem('switchboard.token')")).isEqualTo(TestGateway.TOKEN);
    // record every text a streaming bubble shows
    page.js("window.__streamed = [];"
        + "new MutationObserver(() => document.querySelectorAll('.msg.assistant.streaming .body')"
        + "  .forEach(b => window.__streamed.push(b.textContent)))"
        + ".observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true, attributes: true});");
    String message = "hello from the browser with a few more words to stream";
    page.send(message);
    page.awaitTexts(List.of(message, "echo: " + message));
    @SuppressWarnings("unchecked")
    List<String> streamed = (List<String>) page.js("return window.__streamed");
    assertThat(streamed).as("partial texts shown while streaming")
        .anySatisfy(t -> assertThat(("echo: " + message)).startsWith(t).isNotEqualTo(t));

    driver.navigate().refresh();
    page.awaitOnline();
    page.awaitTexts(List.of(message, "echo: " + message));
    assertThat(page.bubbles()).extracting(b -> b.get(0)).containsExactly("user", "assistant");
    WebElement title = driver.findElement(By.id("session-title"));
    assertThat(title.getText()).isNotBlank();
    assertThat(title.getDomAttribute("title")).isEqualTo(key);
  }

  @Test
  @DisplayName("Stop aborts a running reply: the partial text stays, marked stopped, and nothing more arrives for it")
  void abortRunningReply() {
    String key = newKey("slow");
    page.open(TestGateway.TOKEN, key);
    StringBuilder words = new StringBuilder("count");
    for (int i = 1; i <= 80; i++) {
      words.append(' ').append(i);
    }
    String full = "echo: " + words;
    page.send(words.toString());
    page.until(d -> page.bubbles().stream().anyMatch(b -> (Boolean) b.get(2) && ((String) b.get(1)).length() > 8));
    WebElement stop = driver.findElement(By.id("stop"));
    assertThat(stop.isDisplayed()).isTrue();
    stop.click();
    page.until(d -> page.bubbles().size() == 2 && "stopped".equals(page.bubbles().get(1).get(3)));
    String partial = (String) page.bubbles().get(1).get(1);
    assertThat(full).startsWith(partial);
    assertThat(partial).isNotEqualTo(full);
    page.until(d -> !driver.findElement(By.id("stop")).isDisplayed());
    // barrier: the next reply in the session is complete; the stopped one did not change meanwhile
    page.send("after");
    page.awaitTexts(List.of(words.toString(), partial, "after", "echo: after"));
  }

  @Test
  @DisplayName("a reply containing <script> and <img onerror> shows as text; Markdown still renders")
  void htmlInRepliesIsText() {
    page.open(TestGateway.TOKEN, newKey("main"));
    String attack = "<img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script> **bold** `co<b>de`";
    page.send(attack);
    page.until(d -> page.bubbles().size() == 2 && !(Boolean) page.bubbles().get(1).get(2));
    WebElement messages = driver.findElement(By.id("messages"));
    assertThat(messages.findElements(By.tagName("img"))).isEmpty();
    assertThat(messages.findElements(By.tagName("script"))).isEmpty();
    assertThat(messages.findElements(By.tagName("b"))).isEmpty();
    assertThat(page.js("return window.__xss === undefined")).isEqualTo(true);
    WebElement reply = driver.findElements(By.cssSelector("#messages .msg.assistant")).get(0);
    assertThat(reply.findElement(By.tagName("strong")).getText()).isEqualTo("bold");
    assertThat(reply.findElement(By.tagName("code")).getText()).isEqualTo("co<b>de");
    assertThat((String) page.bubbles().get(1).get(1))
        .contains("<img src=x onerror=\"window.__xss=1\">").contains("<script>window.__xss=2</script>");
    assertThat((String) page.bubbles().get(0).get(1)).isEqualTo(attack);

    page.send("look:\n```html\n<script>alert(1)</script>\n```\n- one\n- two [link](https://example.org/x)");
    page.until(d -> page.bubbles().size() == 4 && !(Boolean) page.bubbles().get(3).get(2));
    WebElement second = driver.findElements(By.cssSelector("#messages .msg.assistant")).get(1);
    assertThat(second.findElement(By.cssSelector("pre code")).getText()).isEqualTo("<script>alert(1)</script>");
    assertThat(second.findElements(By.cssSelector("ul li"))).hasSize(2);
    WebElement link = second.findElement(By.cssSelector("ul a"));
    assertThat(link.getDomAttribute("href")).isEqualTo("https://example.org/x");
    assertThat(link.getDomAttribute("rel")).contains("noopener");
    assertThat(messages.findElements(By.tagName("script"))).isEmpty();
  }

  @Test
  @DisplayName("without a token the page asks for one; a wrong one is refused, the right one connects")
  void loginForm() {
    driver.get(page.base + "/");
    page.js("sessionStorage.clear()");
    driver.navigate().refresh();
    WebElement form = driver.findElement(By.id("login"));
    page.until(d -> form.isDisplayed());
    WebElement input = driver.findElement(By.id("token-input"));
    input.sendKeys("this-is-not-the-token");
    driver.findElement(By.cssSelector("#login-form button[type=submit]")).click();
    page.until(d -> driver.findElement(By.id("login-error")).getText().contains("token mismatch"));
    assertThat(form.isDisplayed()).isTrue();
    input.sendKeys(TestGateway.TOKEN);
    driver.findElement(By.cssSelector("#login-form button[type=submit]")).click();
    page.awaitOnline();
    assertThat(form.isDisplayed()).isFalse();
    assertThat(page.js("return sessionStorage.getItem('switchboard.token')")).isEqualTo(TestGateway.TOKEN);
  }

  @Test
  @DisplayName("start a new session, talk in it, switch back: each shows its own history")
  void newAndSwitchSessions() {
    String first = newKey("main");
    page.open(TestGateway.TOKEN, first);
    page.send("in the first");
    page.awaitTexts(List.of("in the first", "echo: in the first"));
    driver.findElement(By.id("new-session")).click();
    page.until(d -> page.bubbles().isEmpty() && !first.equals(page.js("return sessionStorage.getItem('switchboard.session')")));
    String created = (String) page.js("return sessionStorage.getItem('switchboard.session')");
    assertThat(created).startsWith("agent:main:s-");
    page.send("in the second");
    page.awaitTexts(List.of("in the second", "echo: in the second"));
    // both sessions are listed; pick the first again
    page.until(d -> driver.findElements(By.cssSelector("#sessions button.session[data-key='" + first + "']")).size() == 1
        && driver.findElements(By.cssSelector("#sessions button.session[data-key='" + created + "']")).size() == 1);
    driver.findElement(By.cssSelector("#sessions button.session[data-key='" + first + "']")).click();
    page.awaitTexts(List.of("in the first", "echo: in the first"));
    assertThat(driver.findElement(By.cssSelector("#sessions li.active button")).getDomAttribute("data-key"))
        .isEqualTo(first);
  }

  @Test
  @DisplayName("a message typed in another client appears live, once")
  void otherClientsMessagesAppear() {
    String key = newKey("main");
    page.open(TestGateway.TOKEN, key);
    try (ProtocolClient other = gateway.client("main")) {
      other.chat(key, "from the terminal");
    }
    page.awaitTexts(List.of("from the terminal", "echo: from the terminal"));
  }

  @Test
  @DisplayName("at phone width the sessions panel folds away, nothing scrolls sideways, and chatting works")
  void phoneWidth() {
    Dimension before = driver.manage().window().getSize();
    try {
      driver.manage().window().setSize(new Dimension(390, 844));
      String key = newKey("main");
      page.open(TestGateway.TOKEN, key);
      WebElement sidebar = driver.findElement(By.id("sidebar"));
      page.until(d -> ((Number) page.js("return document.getElementById('sidebar').getBoundingClientRect().right"))
          .doubleValue() <= 0);
      page.send("x".repeat(300) + "\n```\n" + "y".repeat(300) + "\n```");
      page.until(d -> page.bubbles().size() == 2 && !(Boolean) page.bubbles().get(1).get(2));
      assertThat(page.js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"))
          .isEqualTo(true);
      assertThat(page.js("const r = document.getElementById('input').getBoundingClientRect();"
          + "return r.left >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight")).isEqualTo(true);
      driver.findElement(By.id("toggle-sidebar")).click();
      page.until(d -> sidebar.getRect().getX() >= 0 && sidebar.isDisplayed()
          && ((Number) page.js("return document.getElementById('sidebar').getBoundingClientRect().left")).doubleValue() >= 0);
      driver.findElement(By.cssSelector("#sessions button.session[data-key='" + key + "']")).click();
      page.until(d -> ((Number) page.js("return document.getElementById('sidebar').getBoundingClientRect().right"))
          .doubleValue() <= 0);
    } finally {
      driver.manage().window().setSize(before);
    }
  }
}
