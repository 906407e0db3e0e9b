package dev.lockstep.coordinator.migration;

import dev.lockstep.rules.SqlScript;

/**
 * A migration that a release would run: its version, description, script name and SQL text. An
 * {@code undo} migration is a {@code U<version>__…} script that takes the schema from that version
 * back to the one before it.
 *
 * @param executeInTransaction false when the operator marked the script non-transactional with
 *     Flyway's per-script config file ({@code V40__x.sql.conf} holding {@code executeInTransaction=false}):
 *     it then runs in a step of its own, outside any transaction, exactly as written
 * @param statements {@code sql}'s statements, classified: parsed once, since every question below asks them
 * @param contract a contract migration (Flyway's {@code contract/} folder, an Alembic revision with {@code
 *     lockstep_phase = "contract"}): it removes what old code reads, so it runs after the switch, in CONTRACTING
 */
public record PendingMigration(String version, String description, String script, String sql, boolean undo,
                               boolean executeInTransaction, SqlScript statements, boolean contract) {

  public PendingMigration(String version, String description, String script, String sql, boolean undo,
                          boolean executeInTransaction) {
    this(version, description, script, sql, undo, executeInTransaction, SqlScript.parse(sql), false);
  }

  public PendingMigration(String version, String description, String script, String sql, boolean undo,
                          boolean executeInTransaction, boolean contract) {
    this(version, description, script, sql, undo, executeInTransaction, SqlScript.parse(sql), contract);
  }

  /**
   * An Alembic revision: {@code id}, its message and file. Lockstep never reads its Python: Alembic runs it.
   * {@code transactional} is false for a revision that opens an {@code autocommit_block} (it commits what ran
   * before it and runs outside a transaction), so the plan shows it as a step of its own.
   */
  public static PendingMigration revision(String id, String message, String file, boolean undo, boolean transactional,
                                          boolean contract) {
    return new PendingMigration(id, message, file, "", undo, transactional, SqlScript.parse(""), contract);
  }

  /** Whether this is an Alembic revision ({@link #revision}) rather than a Flyway script. */
  public boolean alembic() {
    return script != null && script.endsWith(".py");
  }

  /** The same script, named by {@code version} as the history writes it ({@code 001} where the file says {@code U1}). */
  public PendingMigration withVersion(String version) {
    return new PendingMigration(version, description, script, sql, undo, executeInTransaction, statements, contract);
  }

  /** The same migration, run as an ordinary one (a first release: no old code exists to wait for). */
  public PendingMigration expanding() {
    return new PendingMigration(version, description, script, sql, undo, executeInTransaction, statements, false);
  }

  /** {@code V3 (add order fk)}, or {@code U3 (add order fk)} for its undo — how messages name a migration. */
  public String label() {
    if (alembic()) {
      return (undo ? "undo " : "") + version + " (" + description + ")";
    }
    return (undo ? "U" : "V") + version + " (" + description + ")";
  }

  /**
   * Whether it runs inside the release's transaction: not marked non-transactional, and nothing in it
   * that PostgreSQL refuses in a transaction block ({@code CREATE INDEX CONCURRENTLY}, …). Transaction
   * control in an unmarked script is refused before anything runs ({@link #unmarkedTransactionControl}).
   */
  public boolean transactional() {
    return executeInTransaction && statements().nonTransactional().isEmpty();
  }

  /**
   * Transaction control ({@code COMMIT}, {@code SAVEPOINT}, …) in a script that was not marked
   * non-transactional, other than an outer wrapper: run in the release's transaction it would end or
   * split it, so such a script is refused. Null when there is none.
   */
  public SqlScript.Statement unmarkedTransactionControl() {
    return executeInTransaction ? statements().transactionControl().stream().findFirst().orElse(null) : null;
  }

  /** The name of the per-script config file that marks this script non-transactional: {@code V40__x.sql.conf}. */
  public String confFile() {
    return script + ".conf";
  }

  /** How a message tells the operator to mark this script non-transactional. */
  public String howToMark() {
    return "if it must manage its own transactions, mark it non-transactional with a file " + confFile()
        + " beside it containing executeInTransaction=false (it then runs in a step of its own, outside the release's"
        + " transaction)";
  }
}
