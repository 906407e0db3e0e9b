package dev.lockstep.coordinator.preflight;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.LockFootprint;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What pre-flight found: the rules' findings plus the rehearsal's (a failing migration, data that
 * would be lost, a forced mode that would break old code), the repairs it plans and the mode the
 * release takes. Blocking findings end a release ABORTED before any server is touched.
 *
 * @param findings every finding, blocking ones included
 * @param repairs the repair statements planned, in order
 * @param mode the mode and why
 * @param rehearsed whether the migrations were rehearsed (false if a rule blocked first)
 * @param contract what the contract migrations remove, and the data they drop ({@code drops column public.users.legacy_name,
 *     1204 non-NULL value(s)}); empty without contract migrations or before they were rehearsed
 * @param locks the table locks the repairs and migrations take, as the rehearsal measured them; empty before a rehearsal, or with
 *     an engine that does not measure them
 */
public record PreflightReport(List<Finding> findings, List<String> repairs, ModeDecision mode, boolean rehearsed,
                              List<String> contract, List<LockFootprint> locks) {
  public PreflightReport {
    findings = List.copyOf(findings);
    repairs = List.copyOf(repairs);
    contract = contract == null ? List.of() : List.copyOf(contract);
    locks = locks == null ? List.of() : List.copyOf(locks);
  }

  public PreflightReport(List<Finding> findings, List<String> repairs, ModeDecision mode, boolean rehearsed,
                         List<String> contract) {
    this(findings, repairs, mode, rehearsed, contract, List.of());
  }

  public PreflightReport(List<Finding> findings, List<String> repairs, ModeDecision mode, boolean rehearsed) {
    this(findings, repairs, mode, rehearsed, List.of());
  }

  public boolean blocked() {
    return findings.stream().anyMatch(Finding::blocks);
  }

  /** One line naming every blocking finding and its object. */
  public String blockingReason() {
    return findings.stream().filter(Finding::blocks)
        .map(f -> f.rule() + " on " + f.object() + ": " + f.message())
        .collect(Collectors.joining("; "));
  }
}
