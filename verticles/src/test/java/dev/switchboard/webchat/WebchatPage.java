package dev.switchboard.webchat;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The webchat page as the tests see it: what a user does and what a user sees. */
final class WebchatPage {
  static final Duration WAIT = Duration.ofSeconds(30);

  final ChromeDriver driver;
  final String base;

  WebchatPage(ChromeDriver driver, String base) {
    this.driver = driver;
    this.base = base;
  }

  /** Opens the page as the gateway's link does (token in the fragment), on {@code sessionKey}. */
  WebchatPage open(String token, String sessionKey) {
    driver.get("about:blank");
    String fragment = "token=" + enc(token) + (sessionKey == null ? "" : "&session=" + enc(sessionKey));
    driver.get(base + "/#" + fragment);
    js("window.__errors = []; window.addEventListener('error', e => window.__errors.push(String(e.message)));"
        + "window.addEventListener('unhandledrejection', e => window.__errors.push(String(e.reason)));");
    awaitOnline();
    return this;
  }

  void awaitOnline() {
    until(d -> "online".equals(status()));
  }

  String status() {
    return (String) js("return document.getElementById('status').dataset.state");
  }

  /** Types a message and presses Enter (lines after the first are typed with Shift+Enter). */
  void send(String text) {
    WebElement input = driver.findElement(By.id("input"));
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (i > 0) {
        input.sendKeys(Keys.chord(Keys.SHIFT, Keys.ENTER));
      }
      input.sendKeys(lines[i]);
    }
    input.sendKeys(Keys.ENTER);
  }

  /** Every bubble, in page order: {role, text, streaming, meta}. */
  @SuppressWarnings("unchecked")
  List<List<Object>> bubbles() {
    return (List<List<Object>>) js("return [...document.querySelectorAll('#messages .msg')].map(m => ["
        + "m.classList.contains('user') ? 'user' : 'assistant', m.querySelector('.body').textContent,"
        + "m.classList.contains('streaming'), m.querySelector('.meta') ? m.querySelector('.meta').textContent : '']);");
  }

  List<String> texts() {
    return bubbles().stream().map(b -> (String) b.get(1)).toList();
  }

  /** Waits until the bubbles' texts are exactly {@code expected} and none is streaming. */
  void awaitTexts(List<String> expected) {
    until(d -> {
      List<List<Object>> b = bubbles();
      return b.stream().map(x -> (String) x.get(1)).toList().equals(expected)
          && b.stream().noneMatch(x -> (Boolean) x.get(2));
    });
  }

  Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  <T> T until(Function<WebDriver, T> condition) {
    return new WebDriverWait(driver, WAIT)
        .withMessage(() -> "page: status " + status() + ", bubbles " + bubbles() + ", console " + console())
        .until(condition);
  }

  /** Errors the page logged (collected by a hook installed on load), for failure messages. */
  Object console() {
    try {
      return js("return window.__errors || []");
    } catch (RuntimeException e) {
      return "?";
    }
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
