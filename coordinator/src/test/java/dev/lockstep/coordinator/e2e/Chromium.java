package dev.lockstep.coordinator.e2e;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A headless Chromium for browser tests: Debian's {@code chromium} driven through Debian's {@code
 * chromedriver}, both given by path so Selenium downloads nothing, with a fresh profile each time
 * and the browser's own background traffic (updates, sync, safe browsing lists) turned off.
 * {@code scripts/services.sh} installs both packages.
 */
final class Chromium {
  static final Path BROWSER = Path.of("/usr/bin/chromium");
  static final Path DRIVER = Path.of("/usr/bin/chromedriver");

  private Chromium() {}

  /** Starts a browser whose profile and driver log live under {@code dir}; the caller quits it. */
  static ChromeDriver start(Path dir) {
    for (Path p : new Path[] {BROWSER, DRIVER}) {
      if (!Files.isExecutable(p)) {
        throw new IllegalStateException(p + " is missing; run `bash scripts/services.sh` (it installs Debian's chromium and"
            + " chromium-driver) before the browser test");
      }
    }
    try {
      Files.createDirectories(dir);
      Path profile = Files.createTempDirectory(dir, "chromium-profile-");
      System.setProperty("webdriver.chrome.driver", DRIVER.toString());
      ChromeDriverService service = new ChromeDriverService.Builder()
          .usingDriverExecutable(DRIVER.toFile())
          .usingAnyFreePort()
          .withLogFile(new File(dir.toFile(), "chromedriver.log"))
          .build();
      ChromeOptions options = new ChromeOptions();
      options.setBinary(BROWSER.toFile());
      options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
          "--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + profile,
          "--window-size=1440,1000", "--lang=en-GB");
      // The page's console (script errors, Content-Security-Policy refusals) is readable by the test.
      options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
      ChromeDriver driver = new ChromeDriver(service, options);
      driver.manage().window().setSize(new Dimension(1440, 1000));
      return driver;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
