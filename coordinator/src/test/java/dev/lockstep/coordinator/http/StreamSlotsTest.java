package dev.lockstep.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.lockstep.coordinator.error.LockstepException;
import org.junit.jupiter.api.Test;

/** Counting open streams per identity: the cap, the message, and giving slots back exactly once. */
class StreamSlotsTest {
  private final StreamSlots slots = new StreamSlots("event streams", "--max-event-streams", 2);
  private final CallerKey alice = new CallerKey(Role.OPERATOR, "alice", false);
  private final CallerKey bob = new CallerKey(Role.OPERATOR, "ci-deploy", false);

  @Test
  void overTheCapIsA429NamingTheIdentityTheCapAndTheFlag() {
    slots.acquire(alice);
    slots.acquire(alice);
    LockstepException refused = catchThrowableOfType(LockstepException.class, () -> slots.acquire(alice));
    assertThat(refused.code()).isEqualTo(LockstepException.Code.TOO_MANY_REQUESTS);
    assertThat(refused.getMessage()).isEqualTo(
        "identity alice already has 2 event streams open; close one or raise --max-event-streams");
    assertThat(slots.acquire(bob)).as("another identity has its own slots").isNotNull();
  }

  @Test
  void aReleasedSlotIsGivenBackOnceHoweverOftenItIsReleased() {
    StreamSlots.Slot first = slots.acquire(alice);
    slots.acquire(alice);
    first.release();
    first.release();
    first.release();
    assertThat(slots.open(alice)).isEqualTo(1);
    slots.acquire(alice);
    assertThat(catchThrowableOfType(LockstepException.class, () -> slots.acquire(alice))).isNotNull();
  }

  @Test
  void anIdentityWithNothingOpenIsForgotten() {
    StreamSlots.Slot a = slots.acquire(alice);
    StreamSlots.Slot b = slots.acquire(bob);
    a.release();
    b.release();
    assertThat(slots.identities()).isZero();
  }

  @Test
  void aSharedCredentialIsNotCapped() {
    CallerKey fleet = new CallerKey(Role.AGENT, "shared agent token", true);
    for (int i = 0; i < 10; i++) {
      slots.acquire(fleet);
    }
    assertThat(slots.identities()).isZero();
  }

  @Test
  void agentsOfOneServiceAreIdentitiesOfTheirOwn() {
    StreamSlots polls = new StreamSlots("long polls", "--max-long-polls", 1);
    polls.acquire(new CallerKey(Role.AGENT, "app/web-1", false));
    polls.acquire(new CallerKey(Role.AGENT, "app/web-2", false));
    LockstepException refused = catchThrowableOfType(LockstepException.class,
        () -> polls.acquire(new CallerKey(Role.AGENT, "app/web-1", false)));
    assertThat(refused.getMessage()).isEqualTo(
        "identity app/web-1 already has 1 long polls open; close one or raise --max-long-polls");
  }
}
