package dev.lockstep.protocol;

import java.util.List;

/**
 * A release's {@code contract}: its removals, run after the switch once no server runs code that reads what they remove.
 *
 * @param state where they are
 * @param migrations the contract migrations, as labels ({@code V7 (drop user legacy name)}), oldest first
 * @param waitingFor while {@code waiting} in CONTRACTING, or once {@code pending}: the agents still on another revision
 *     ({@code a-2 on v1 (serving)})
 * @param reason why it is {@code pending} or {@code failed} (the migration and the database's error), else null
 * @param appliedAt when the contract committed (ISO-8601), once {@code applied}
 * @param afterLastSwitchMs how long after the last agent switched the contract committed, once {@code applied}
 */
public record ContractStatus(ContractState state, List<String> migrations, List<String> waitingFor, String reason,
                             String appliedAt, Long afterLastSwitchMs) {
  public static final ContractStatus NONE = new ContractStatus(ContractState.NONE, List.of(), List.of(), null, null, null);

  public ContractStatus {
    state = state == null ? ContractState.NONE : state;
    migrations = migrations == null ? List.of() : List.copyOf(migrations);
    waitingFor = waitingFor == null ? List.of() : List.copyOf(waitingFor);
  }

  /** A release whose plan has contract migrations: they wait for the switch and the old code to go. */
  public static ContractStatus waiting(List<String> migrations) {
    return migrations.isEmpty() ? NONE : new ContractStatus(ContractState.WAITING, migrations, List.of(), null, null, null);
  }

  public ContractStatus waitingFor(List<String> agents) {
    return new ContractStatus(state, migrations, agents, reason, appliedAt, afterLastSwitchMs);
  }

  public ContractStatus pending(List<String> agents, String why) {
    return new ContractStatus(ContractState.PENDING, migrations, agents, why, null, null);
  }

  public ContractStatus applied(String at, Long afterLastSwitch) {
    return new ContractStatus(ContractState.APPLIED, migrations, List.of(), null, at, afterLastSwitch);
  }

  public ContractStatus failed(String why) {
    return new ContractStatus(ContractState.FAILED, migrations, List.of(), why, null, null);
  }

  /** A release that ended ABORTED or FAILED before CONTRACTING: its contract never ran and never will. */
  public ContractStatus notRun(String why) {
    return new ContractStatus(ContractState.NONE, migrations, List.of(), why, null, null);
  }

  /** Whether the release has contract migrations at all. */
  public boolean any() {
    return state != ContractState.NONE;
  }

  /** Whether {@code lockstep contract} may apply it: pending, or failed and fixed by hand since. */
  public boolean applicableLater() {
    return state == ContractState.PENDING || state == ContractState.FAILED;
  }
}
