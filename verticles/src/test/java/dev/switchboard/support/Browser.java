package dev.switchboard.support;

import java.io.File;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium for the webchat page tests: Debian's {@code chromium} and {@code chromedriver},
 * driven through the driver path so Selenium Manager never runs (and never downloads). Without a
 * browser the test is skipped, unless {@code SWITCHBOARD_TEST_REQUIRE_BROWSER=true} (CI sets it):
 * then it fails, so a browser suite can never pass by skipping.
 */
public final class Browser {
  static final String CHROMIUM = System.getProperty("test.chromium", "/usr/bin/chromium");
  static final String CHROMEDRIVER = System.getProperty("test.chromedriver", "/usr/bin/chromedriver");

  private Browser() {
  }

  public static boolean required() {
    return "true".equalsIgnoreCase(System.getenv("SWITCHBOARD_TEST_REQUIRE_BROWSER"));
  }

  /** A fresh headless Chromium with its profile in {@code profile}; skips (or fails in CI) without one. */
  public static ChromeDriver start(Path profile) {
    if (!new File(CHROMIUM).canExecute() || !new File(CHROMEDRIVER).canExecute()) {
      String why = "no browser: " + CHROMIUM + " and " + CHROMEDRIVER + " must both be executable";
      if (required()) {
        throw new AssertionError(why + " (SWITCHBOARD_TEST_REQUIRE_BROWSER=true)");
      }
      Assumptions.abort(why + "; install chromium and chromium-driver to run the browser tests");
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }
}
