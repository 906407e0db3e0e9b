package dev.lockstep.coordinator.migration;


/**
 * What every engine's {@code --schema} shares: {@code -N}, N versions below the database's current one (as {@code
 * alembic downgrade -1}). Each engine reads its own versions ({@code FlywaySet#parseSchema}, Alembic's revision ids).
 */
public final class SchemaVersions {
  private SchemaVersions() {}

  /** {@code -N}: N versions below the database's current one ({@code alembic downgrade -1}). */
  private static final java.util.regex.Pattern STEPS_DOWN = java.util.regex.Pattern.compile("-([1-9][0-9]{0,5})");

  /** Steps down of a relative target such as {@code -2}, or empty for an absolute version. */
  public static java.util.OptionalInt stepsDown(String text) {
    java.util.regex.Matcher m = text == null ? null : STEPS_DOWN.matcher(text.strip());
    return m != null && m.matches() ? java.util.OptionalInt.of(Integer.parseInt(m.group(1))) : java.util.OptionalInt.empty();
  }

}
