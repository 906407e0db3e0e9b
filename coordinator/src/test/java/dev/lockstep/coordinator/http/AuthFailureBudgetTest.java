package dev.lockstep.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.testkit.TestClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The failed-authentication budget per address, with time in the test's hands. */
class AuthFailureBudgetTest {
  private final TestClock clock = TestClock.at("2026-01-01T00:00:00Z");
  private final AuthFailureBudget budget = new AuthFailureBudget(10, Duration.ofMinutes(1), 100, clock);

  @Test
  void tenFailuresAreAllowedThenTheAddressIsRefusedWithRetryAfter() {
    for (int i = 0; i < 10; i++) {
      budget.check("10.0.0.5");
      budget.failed("10.0.0.5");
    }
    LockstepException refused = catchThrowableOfType(LockstepException.class, () -> budget.check("10.0.0.5"));
    assertThat(refused.code()).isEqualTo(LockstepException.Code.TOO_MANY_REQUESTS);
    assertThat(refused.code().status()).isEqualTo(429);
    assertThat(refused.getMessage()).isEqualTo(
        "too many failed authentications from 10.0.0.5 (more than 10 per 1m); retry after 6 s");
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(6));
    // Another address is not affected.
    assertThatCode(() -> budget.check("10.0.0.6")).doesNotThrowAnyException();
  }

  @Test
  void aTokenThatAuthenticatedFromTheAddressBeforeKeepsWorkingWhileGuessesAreRefused() {
    String good = AuthFailureBudget.digest("lsa1.good-token");
    budget.succeeded("10.0.0.5", good);
    // A neighbour behind the same address (a NAT, a host of several agents) keeps sending a wrong token.
    for (int i = 0; i < 10; i++) {
      budget.failed("10.0.0.5");
    }
    assertThatCode(() -> budget.check("10.0.0.5", good)).as("a token known good from here is no guess")
        .doesNotThrowAnyException();
    assertThat(catchThrowableOfType(LockstepException.class,
        () -> budget.check("10.0.0.5", AuthFailureBudget.digest("lsa1.a-guess"))).code())
        .isEqualTo(LockstepException.Code.TOO_MANY_REQUESTS);
    // Known good from one address is not known good from another.
    for (int i = 0; i < 10; i++) {
      budget.failed("10.0.0.6");
    }
    assertThat(catchThrowableOfType(LockstepException.class, () -> budget.check("10.0.0.6", good))).isNotNull();
    assertThat(AuthFailureBudget.digest("lsa1.good-token")).isEqualTo(good).doesNotContain("good-token");
  }

  @Test
  void theBudgetRefillsEvenlyOverTheWindow() {
    for (int i = 0; i < 10; i++) {
      budget.failed("10.0.0.5");
    }
    clock.advance(Duration.ofSeconds(4));
    LockstepException refused = catchThrowableOfType(LockstepException.class, () -> budget.check("10.0.0.5"));
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(2));
    assertThat(refused.getMessage()).endsWith("retry after 2 s");
    clock.advance(Duration.ofSeconds(2));
    assertThatCode(() -> budget.check("10.0.0.5")).as("one try earned back after 6 s").doesNotThrowAnyException();
    budget.failed("10.0.0.5");
    assertThat(catchThrowableOfType(LockstepException.class, () -> budget.check("10.0.0.5"))).isNotNull();
    clock.advance(Duration.ofMinutes(1));
    for (int i = 0; i < 10; i++) {
      budget.check("10.0.0.5");
      budget.failed("10.0.0.5");
    }
  }

  @Test
  void addressesWhoseBudgetIsFullAgainAreForgotten() {
    budget.failed("10.0.0.5");
    budget.failed("10.0.0.6");
    assertThat(budget.tracked()).isEqualTo(2);
    clock.advance(Duration.ofMinutes(2));
    budget.failed("10.0.0.7");
    assertThat(budget.tracked()).as("only 10.0.0.7, the two others refilled").isEqualTo(1);
  }

  @Test
  void atMostMaxAddressesAreTrackedTheOneTouchedLongestAgoGoesFirst() {
    AuthFailureBudget small = new AuthFailureBudget(1, Duration.ofMinutes(1), 3, clock);
    small.failed("a");
    small.failed("b");
    small.failed("c");
    small.check("x"); // an address never seen changes nothing
    assertThatCode(() -> small.check("a")).isInstanceOf(LockstepException.class);
    small.failed("d");
    assertThat(small.tracked()).isEqualTo(3);
    // "b" was touched longest ago (a was checked since): it is forgotten and may try again.
    assertThatCode(() -> small.check("b")).doesNotThrowAnyException();
    assertThatCode(() -> small.check("a")).isInstanceOf(LockstepException.class);
  }
}
