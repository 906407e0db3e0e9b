package dev.lockstep.protocol;

import java.util.List;

/**
 * A recorded baseline, as {@code lockstep.baselines} keeps it and {@code history} shows it: who adopted the
 * database at which version, when, and what was there.
 *
 * @param service the service
 * @param version the version recorded as applied (Flyway's {@code BASELINE} row in {@code flyway_schema_history})
 * @param description the history row's description
 * @param requestedBy who asked: the name of the operator token ({@code operator} for {@code --token})
 * @param caller the address the request came from
 * @param at when it was recorded (ISO-8601)
 * @param tables the application's tables at that moment
 * @param covered the migrations of the set recorded as applied without being run ({@code V1 (create users)}, …)
 * @param migrationsDigest the digest of the migration set it was compared with
 */
public record Baseline(String service, String version, String description, String requestedBy, String caller, String at,
                       List<String> tables, List<String> covered, String migrationsDigest) {
  public Baseline {
    tables = tables == null ? List.of() : List.copyOf(tables);
    covered = covered == null ? List.of() : List.copyOf(covered);
  }
}
