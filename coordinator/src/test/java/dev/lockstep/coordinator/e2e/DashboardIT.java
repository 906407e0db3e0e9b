package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's headless Chromium through Selenium) against a real
 * coordinator and three real agents: sign in, see the fleet, follow releases live over the
 * server-sent events to {@code COMPLETED} and {@code ABORTED} without a reload, refuse wrong tokens,
 * and keep a fleet of 1,000 agents collapsed; a release in CONTRACTING naming the old server it waits for, and
 * contracts applied, left pending and applied later. Screenshots land in {@code target/e2e/DashboardIT/}.
 *
 * <p>The release story runs first (its agents start on v0 at an empty schema), the contract story after it, on the
 * schema and revision it left: both move the same three agents.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardIT {
  private static final Duration RELEASE_TIMEOUT = Duration.ofSeconds(90);
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path slowFlag;
  private static Path migrations;
  private static ChromeDriver browser;

  @BeforeAll
  static void start() throws IOException {
    db = TestPostgres.instance().createDatabase("DashboardIT");
    fleet = new Fleet("DashboardIT", db);
    migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    // While the flag file exists, prepare hooks take 1, 2 and 4 s, so a release stays in PREPARING long
    // enough to watch the acknowledgements arrive one by one.
    slowFlag = fleet.dir.resolve("slow-prepare");
    Files.deleteIfExists(slowFlag);
    int seconds = 1;
    for (String id : List.of("web-1", "web-2", "web-3")) {
      Files.deleteIfExists(fleet.dir.resolve("revision-" + id));   // left by an earlier run: start on v0 again
      fleet.startSlowAgent(id, "v0", migrations, "if [ -f " + slowFlag + " ]; then sleep " + seconds + "; fi; ");
      seconds *= 2;
    }
    fleet.awaitAgents("web-1", "web-2", "web-3");
    browser = Chromium.start(fleet.dir);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    fleet.close();
    db.close();
  }

  /**
   * The console's errors since the last read, but for Chromium's request of {@code /favicon.ico} for the JSON page
   * {@link #freshTab} opens (it has no icon; the dashboard declares its own as {@code data:}). That request may end
   * after a test drained the console, so it showed up in one test's errors (seen once in a clean-clone run).
   */
  private List<String> pageErrors() {
    return browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::getMessage)
        .filter(message -> !message.startsWith(fleet.url() + "/favicon.ico "))
        .toList();
  }

  /** Forgets the token of the test before, on a page of the same origin that does not sign in by itself. */
  @BeforeEach
  void freshTab() {
    browser.get(fleet.url() + "/health");
    js("sessionStorage.clear()");
  }

  @Test
  void aWrongTokenIsRefusedVisiblyAndNothingIsShown() {
    browser.get(fleet.url() + "/");
    signIn("not-the-token");
    String error = waitFor(Duration.ofSeconds(10), () -> visibleText("signin-error"));
    assertThat(error).contains("Token refused").contains("401").contains("unknown token");
    assertThat(visibleText("board")).isNull();
    assertThat(js("return sessionStorage.length")).isEqualTo(0L);

    // The agents' token is a real token, but not one that may read the operator's view.
    String agentToken = Fleet.agentToken(fleet.service, "web-1");
    signIn(agentToken);
    String forbidden = waitFor(Duration.ofSeconds(10), () -> {
      String text = visibleText("signin-error");
      return text != null && text.contains("403") ? text : null;
    });
    assertThat(forbidden).contains("Token refused (403 forbidden)").contains("agent token may not GET /v1/releases");
    screenshot("dashboard-token-refused.png");
    assertThat(visibleText("board")).isNull();
    assertThat(browser.getCurrentUrl()).doesNotContain(agentToken);
  }

  @Test
  @Order(1)
  void showsTheFleetAndFollowsReleasesLiveWithoutAReload() throws IOException {
    browser.manage().logs().get(LogType.BROWSER);   // drops what earlier tests left in the console
    browser.get(fleet.url() + "/");
    signIn(Fleet.OPERATOR_TOKEN);
    waitFor(Duration.ofSeconds(15), () -> count("[data-revision='v0'] tr[data-agent]") == 3 ? true : null);
    assertThat(attributes("tr[data-agent]", "data-agent")).containsExactly("web-1", "web-2", "web-3");
    assertThat(text("#fleet-summary")).isEqualTo("3 agents · 1 revision");
    assertThat(browser.getCurrentUrl()).doesNotContain(Fleet.OPERATOR_TOKEN);
    assertThat(js("return sessionStorage.getItem('lockstep.operatorToken')")).isEqualTo(Fleet.OPERATOR_TOKEN);
    js("window.lockstepNotReloaded = 'still the same page'");

    // 1. A release started through the API, followed to COMPLETED.
    ReleaseDocument first = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", "1"), ReleaseDocument.class);
    waitForReleaseOnPage(first.id(), "COMPLETED");
    assertThat(phaseNodes()).containsOnly("phase done");
    // No contract migrations: no CONTRACTING step, no contract section.
    assertThat(attributes("#release li.phase", "data-phase")).containsExactly("PLANNED", "PREFLIGHT", "PREPARING",
        "MIGRATING", "SWITCHING", "COMPLETED");
    assertThat(count("#release .contract")).isZero();
    // The event log is read from the server-sent events only (the polled release list has no events).
    waitFor(Duration.ofSeconds(10), () -> String.valueOf(text("#release .events")).contains("COMPLETED in") ? true : null);
    assertThat(text("#release .events")).contains("PREPARING asking 3 agent(s) to prepare").contains("MIGRATING applied V1");

    // 2. A slow release, seen in PREPARING while the API still says it runs, then aborted by the operator.
    Files.writeString(slowFlag, "1");
    ReleaseDocument second = fleet.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    waitForReleaseOnPage(second.id(), "PREPARING");
    assertThat(fleet.api().get("/v1/releases/" + second.id(), ReleaseDocument.class).phase().isTerminal()).isFalse();
    fleet.api().post("/v1/releases/" + second.id() + "/abort", null, Map.class);
    waitForReleaseOnPage(second.id(), "ABORTED");
    assertThat(visibleText("release-body")).contains("aborted by the operator");
    assertThat(text("#release li.phase.stopped")).endsWith("ABORTED in PREPARING");

    // 3. The drift of the story (a lost primary key), then the release that repairs it: screenshot mid-release.
    waitFor(Duration.ofSeconds(30), () -> fleet.agentList().stream()
        .allMatch(a -> a.state() == AgentState.ABORTED || a.state() == AgentState.SERVING) ? true : null);
    db.execute("ALTER TABLE \"user\" DROP CONSTRAINT user_pkey");
    ReleaseDocument third = fleet.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    waitForReleaseOnPage(third.id(), "PREPARING");
    waitFor(Duration.ofSeconds(30), () -> {
      String count = text("#release h3 .count");
      return count != null && count.startsWith("1/3 acknowledged") || count.startsWith("2/3 acknowledged") ? count : null;
    });
    // Tall enough to show the history under the release too (the page itself is laid out for 1440 × 900).
    browser.manage().window().setSize(new Dimension(1440, 1300));
    screenshot("dashboard-during-release.png");
    browser.manage().window().setSize(new Dimension(1440, 1000));
    Files.deleteIfExists(slowFlag);
    waitForReleaseOnPage(third.id(), "COMPLETED");

    ReleaseDocument done = fleet.api().get("/v1/releases/" + third.id(), ReleaseDocument.class);
    assertThat(done.phase()).isEqualTo(Phase.COMPLETED);
    String release = visibleText("release-body");
    assertThat(release).contains("3/3 acknowledged · 3/3 switched").contains("1/1 applied").contains("V2 (create orders)")
        .contains("missing-primary-key").contains("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
    assertThat(count("#release [data-release-agent]")).isEqualTo(3);

    // The history has all three, newest first, the aborted one with its reason.
    // The history is polled (every 2 s): the third row is there from PREPARING on, its outcome a poll later.
    waitFor(Duration.ofSeconds(10), () -> attributes("#history tr[data-history]", "data-phase")
        .equals(List.of("COMPLETED", "ABORTED", "COMPLETED")) ? true : null);
    assertThat(attributes("#history tr[data-history]", "data-history")).containsExactly(third.id(), second.id(), first.id());
    assertThat(text("#history td.reason-cell")).contains("aborted by the operator")
        .contains("abort asked by operator from 127.0.0.1");
    // Who asked, from the audit: the fleet's --token is named "operator".
    assertThat(attributes("#history td[data-requested-by]", "data-requested-by")).containsExactly("operator", "operator",
        "operator");
    assertThat(release).containsIgnoringCase("Requested by").contains("operator from 127.0.0.1");
    assertThat(text("#history tr[data-history='" + third.id() + "']")).contains("v2").contains("online").contains("1 warn");

    // The fleet regrouped under the new revision, and it was one page all along.
    waitFor(Duration.ofSeconds(15), () -> count("[data-revision='v2'] tr[data-agent]") == 3 ? true : null);
    browser.manage().window().setSize(new Dimension(1280, 900));   // a smaller laptop screen
    screenshot("dashboard-after-release.png");
    assertThat(js("return window.lockstepNotReloaded")).isEqualTo("still the same page");
    assertThat(browser.getCurrentUrl()).isEqualTo(fleet.url() + "/");
    // Everything the page loaded came from the coordinator itself.
    @SuppressWarnings("unchecked")
    List<String> loaded = (List<String>) js("return performance.getEntriesByType('resource').map(e => e.name)");
    assertThat(loaded).isNotEmpty().allSatisfy(url -> assertThat(url).startsWith(fleet.url() + "/"));
    assertThat(loaded).anySatisfy(url -> assertThat(url).isEqualTo(fleet.url() + "/v1/releases/" + third.id() + "/events"));
    // No script error and nothing the page's Content-Security-Policy refused.
    assertThat(pageErrors()).isEmpty();
  }

  @Test
  @Order(2)
  void aContractWaitsInContractingForTheOldServerItNamesThenAppliesOrStaysPending() throws IOException {
    browser.manage().logs().get(LogType.BROWSER);
    browser.manage().window().setSize(new Dimension(1440, 1000));
    // The build of v3 adds a column and, in contract/, drops the one the old code reads.
    Files.writeString(migrations.resolve("V3__add_user_nick.sql"), "ALTER TABLE \"user\" ADD COLUMN nick text;");
    Files.createDirectories(migrations.resolve("contract"));
    Files.writeString(migrations.resolve("contract").resolve("V4__drop_user_name.sql"), "ALTER TABLE \"user\" DROP COLUMN name;");
    // An old server that went silent on v2: it may come back on the old code, so the contract waits for it.
    HttpClient http = HttpClient.newHttpClient();
    put(http, "/v1/agents/web-0", new AgentReport("web-0", fleet.service, "v2", AgentState.SERVING, null, 0, null, null, null));
    waitFor(Duration.ofSeconds(15), () -> fleet.agentList().stream()
        .anyMatch(a -> a.id().equals("web-0") && a.state() == AgentState.LOST) ? true : null);

    browser.get(fleet.url() + "/");
    signIn(Fleet.OPERATOR_TOKEN);
    ReleaseDocument waiting = fleet.api().post("/v1/releases",
        new ReleaseRequest(null, "v3", null, null, true, false, false, null), ReleaseDocument.class);
    assertThat(waiting.contract().migrations()).containsExactly("V4 (drop user name)");
    waitForReleaseOnPage(waiting.id(), "CONTRACTING");
    List<String> waitingFor = waitFor(Duration.ofSeconds(30), () -> {
      List<String> agents = attributes("#release [data-waiting-for]", "data-waiting-for");
      return agents.isEmpty() ? null : agents;
    });
    assertThat(waitingFor).singleElement().asString().startsWith("web-0 on v2 (lost since ");
    assertThat(fleet.api().get("/v1/releases/" + waiting.id(), ReleaseDocument.class).contract().waitingFor())
        .isEqualTo(waitingFor);
    assertThat(attribute("release", "data-phase")).isEqualTo("CONTRACTING");
    assertThat(attributes("#release li.phase", "data-phase")).containsExactly("PLANNED", "PREFLIGHT", "PREPARING",
        "MIGRATING", "SWITCHING", "CONTRACTING", "COMPLETED");
    assertThat(text("#release li.phase.current")).endsWith("CONTRACTING");
    assertThat(attributes("#release [data-contract-migration]", "data-contract-migration")).containsExactly("V4 (drop user name)");
    assertThat(text("#release .contract")).contains("Waiting until no agent runs another revision than v3");
    assertThat(text("#release-badges")).contains("contract waiting");
    screenshot("dashboard-contracting.png");

    // The old server is removed for good: the contract runs, and the page says when.
    delete(http, "/v1/agents/web-0?service=" + fleet.service);
    waitForReleaseOnPage(waiting.id(), "COMPLETED");
    String applied = waitFor(Duration.ofSeconds(10), () -> {
      String text = text("#release [data-contract='applied']");
      return text != null && text.contains("after the last switch") ? text : null;
    });
    assertThat(applied).contains("Applied ").contains("V4 (drop user name)");
    assertThat(phaseNodes()).containsOnly("phase done");
    assertThat(count("#release [data-waiting-for]")).isZero();
    assertThat(fleet.api().get("/v1/releases/" + waiting.id(), ReleaseDocument.class).contract().afterLastSwitchMs())
        .isNotNull();

    // The next build drops the column v3 added, and the release defers it: COMPLETED, its contract pending.
    Files.writeString(migrations.resolve("V5__add_user_email.sql"), "ALTER TABLE \"user\" ADD COLUMN email text;");
    Files.writeString(migrations.resolve("contract").resolve("V6__drop_user_nick.sql"), "ALTER TABLE \"user\" DROP COLUMN nick;");
    ReleaseDocument deferred = fleet.api().post("/v1/releases", ReleaseRequest.of("v4", null).withContract("defer"),
        ReleaseDocument.class);
    waitForReleaseOnPage(deferred.id(), "COMPLETED");
    String pending = waitFor(Duration.ofSeconds(10), () -> text("#release [data-contract='pending']"));
    assertThat(pending).contains("deferred by the operator").contains("V6 (drop user nick)");
    assertThat(text("#release [data-contract-command]")).isEqualTo("lockstep contract --service " + fleet.service);
    assertThat(attributes("#release li.phase[data-phase='CONTRACTING']", "class")).containsExactly("phase done contract-pending");
    assertThat(text("#release li.phase[data-phase='CONTRACTING']")).endsWith("CONTRACTING pending");
    waitFor(Duration.ofSeconds(10), () -> newestContracts(2).equals(List.of("pending", "applied")) ? true : null);
    assertThat(text("#history td[data-contract-reason='pending']")).startsWith("Contract pending: deferred by the operator");
    browser.manage().window().setSize(new Dimension(1440, 1300));
    screenshot("dashboard-contract-pending.png");
    browser.manage().window().setSize(new Dimension(1440, 1000));

    // lockstep contract applies it later: the release shown (it ended long ago) and its history row follow.
    ReleaseDocument contracted = fleet.api().post("/v1/services/" + fleet.service + "/contract", null, ReleaseDocument.class);
    assertThat(contracted.contract().state()).isEqualTo(ContractState.APPLIED);
    waitFor(Duration.ofSeconds(15), () -> text("#release [data-contract='applied']"));
    waitFor(Duration.ofSeconds(15), () -> newestContracts(2).equals(List.of("applied", "applied")) ? true : null);
    assertThat(count("#history td[data-contract-reason]")).isZero();
    // A history row opened: its applied migrations, the contract ones marked.
    waitFor(Duration.ofSeconds(5), () -> {
      browser.findElement(By.cssSelector("#history tr[data-history='" + waiting.id() + "']")).click();
      return true;
    });
    String details = waitFor(Duration.ofSeconds(5), () -> text("#history tr.details"));
    assertThat(details).contains("V3 add user nick").contains("V4 drop user name");
    assertThat((String) js("const e = document.querySelector(\"#history tr.details [data-applied='4']\");"
        + " return e && e.nextElementSibling ? e.nextElementSibling.innerText : null")).isEqualTo("contract");
    assertThat((String) js("const e = document.querySelector(\"#history tr.details [data-applied='3']\");"
        + " return e && e.nextElementSibling ? e.nextElementSibling.innerText : null")).isNotEqualTo("contract");
    assertThat(pageErrors()).isEmpty();
  }

  @Test
  void thePageIsServedFromTheJarWithoutATokenAndAllowsItsOwnOriginOnly() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(csp ->
        assertThat(csp).contains("default-src 'none'").contains("script-src 'self'").contains("connect-src 'self'"));
    assertThat(page.body()).contains("/dashboard/dashboard.js").doesNotContain("http://").doesNotContain("https://");
    HttpResponse<String> script = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/dashboard/dashboard.js")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("javascript"));
    // Only the dashboard's folder is served, and the API's own 404 still answers elsewhere.
    HttpResponse<String> outside = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/dashboard/logback.xml")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(outside.statusCode()).isEqualTo(404);
    HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/nothing-here")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.body()).contains("\"error\":\"not_found\"");
  }

  @Test
  void aThousandAgentsStayCollapsedByRevisionAndLostOnesAreFlagged() {
    String service = "bulk-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> ids = new ArrayList<>();
    HttpClient http = HttpClient.newHttpClient();
    try {
      for (int i = 0; i < 1000; i++) {
        String id = service + "-" + i;
        String revision = i < 700 ? "r41" : i < 950 ? "r40" : "r39";
        put(http, "/v1/agents/" + id, new AgentReport(id, service, revision, AgentState.SERVING, null, 0, null, null, null));
        ids.add(id);
      }
      browser.get(fleet.url() + "/?service=" + service);
      signIn(Fleet.OPERATOR_TOKEN);
      waitFor(Duration.ofSeconds(15), () -> String.valueOf(text("#fleet-summary")).startsWith("1000 agents") ? true : null);
      assertThat(attributes("#fleet .group", "data-revision")).containsExactly("r41", "r40", "r39");
      assertThat(attributes("#fleet .group", "data-open")).containsExactly("false", "false", "false");
      assertThat(count("tr[data-agent]")).isZero();

      waitFor(Duration.ofSeconds(5), () -> {
        browser.findElement(By.cssSelector("[data-revision='r41'] .group-head")).click();
        return true;
      });
      waitFor(Duration.ofSeconds(5), () -> count("[data-revision='r41'] tr[data-agent]") == 100 ? true : null);
      assertThat(text("[data-revision='r41'] .more")).isEqualTo("Show all 700 agents on r41");

      // Nobody reports for them any more: past the liveness timeout (3 s here) they are lost, and said so.
      String banner = waitFor(Duration.ofSeconds(20), () -> {
        String text = visibleText("fleet-lost");
        return text != null && text.contains("1000 agents lost") ? text : null;
      });
      assertThat(banner).contains(service + "-0, ").contains(" and 992 more. A release refuses to start");
      waitFor(Duration.ofSeconds(10), () -> count("[data-revision='r41'] tr.lost[data-state='lost']") == 100 ? true : null);
      assertThat(text("[data-revision='r39'] .chips")).isEqualTo("50 lost");
      screenshot("dashboard-1000-agents.png");
    } finally {
      for (String id : ids) {
        delete(http, "/v1/agents/" + id + "?service=" + service);
      }
    }
  }

  // ---- helpers ----

  private void signIn(String token) {
    WebElement input = waitFor(Duration.ofSeconds(10), () -> {
      WebElement e = browser.findElement(By.id("token"));
      return e.isDisplayed() ? e : null;
    });
    input.clear();
    input.sendKeys(token);
    browser.findElement(By.id("signin-button")).click();
  }

  private void waitForReleaseOnPage(String id, String phase) {
    waitFor(RELEASE_TIMEOUT, () -> {
      return id.equals(attribute("release", "data-release")) && phase.equals(attribute("release", "data-phase")) ? true : null;
    });
  }

  // The page redraws as data arrives, so elements are read in one script call each, never held on to.

  private List<String> phaseNodes() {
    return attributes("#release li.phase", "class");
  }

  /** The contract states of the newest {@code n} releases in the history, newest first (fewer while it has fewer). */
  private List<String> newestContracts(int n) {
    List<String> states = attributes("#history tr[data-history] td[data-contract]", "data-contract");
    return states.subList(0, Math.min(n, states.size()));
  }

  @SuppressWarnings("unchecked")
  private List<String> attributes(String css, String attribute) {
    return (List<String>) js("return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]))",
        css, attribute);
  }

  private int count(String css) {
    return ((Long) js("return document.querySelectorAll(arguments[0]).length", css)).intValue();
  }

  /** The element's rendered text, or null while it is hidden or empty. */
  private String visibleText(String id) {
    return (String) js("const e = document.getElementById(arguments[0]);"
        + " return e && e.offsetParent !== null && e.innerText.trim() ? e.innerText : null", id);
  }

  private String text(String css) {
    return (String) js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css);
  }

  private String attribute(String id, String attribute) {
    return (String) js("const e = document.getElementById(arguments[0]); return e ? e.getAttribute(arguments[1]) : null",
        id, attribute);
  }

  private Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  private <T> T waitFor(Duration timeout, java.util.function.Supplier<T> condition) {
    return new WebDriverWait(browser, timeout, Duration.ofMillis(100)).ignoring(StaleElementReferenceException.class)
        .until(d -> condition.get());
  }

  private void screenshot(String name) {
    try {
      Files.write(fleet.dir.resolve(name), browser.getScreenshotAs(OutputType.BYTES));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void put(HttpClient http, String path, Object body) {
    send(http, HttpRequest.newBuilder(URI.create(fleet.url() + path)).header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(Json.write(body))));
  }

  private static void delete(HttpClient http, String path) {
    send(http, HttpRequest.newBuilder(URI.create(fleet.url() + path)).DELETE());
  }

  private static void send(HttpClient http, HttpRequest.Builder request) {
    try {
      HttpResponse<String> response = http.send(request.header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(request.build().uri() + " " + response.body()).isLessThan(300);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
