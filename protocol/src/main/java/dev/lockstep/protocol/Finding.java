package dev.lockstep.protocol;

import java.util.List;

/**
 * What a repair rule found about one database object, and the repair it plans (SQL statements with
 * quoted identifiers), empty when it cannot repair safely.
 *
 * @param rule the rule's id, e.g. {@code missing-primary-key}
 * @param severity info, warn or block
 * @param object the object, e.g. {@code public.user}
 * @param message what is wrong and what to do
 * @param repair the statements that would fix it; empty if none is planned
 */
public record Finding(String rule, Severity severity, String object, String message, List<String> repair) {
  public Finding {
    repair = repair == null ? List.of() : List.copyOf(repair);
  }

  public boolean blocks() {
    return severity == Severity.BLOCK;
  }

  public boolean hasRepair() {
    return !repair.isEmpty();
  }
}
