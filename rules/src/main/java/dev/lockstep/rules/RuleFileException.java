package dev.lockstep.rules;

import java.nio.file.Path;

/**
 * A user rule file that cannot be used, refused at start-up with its path and the problem, so a broken
 * rule is fixed before a release rather than discovered during one.
 *
 * <pre>{@code
 * try {
 *   rules = UserRules.load(Path.of("/etc/lockstep/rules"));
 * } catch (RuleFileException e) {
 *   // "rule file /etc/lockstep/rules/no-trigger.json: severity 'fatal' is not one of info, warn, block"
 *   exit(e.getMessage());
 * }
 * }</pre>
 */
public final class RuleFileException extends RuntimeException {
  private final transient Path path;
  private final String problem;

  public RuleFileException(Path path, String problem) {
    this(path, problem, null);
  }

  public RuleFileException(Path path, String problem, Throwable cause) {
    super("rule file " + path + ": " + problem, cause);
    this.path = path;
    this.problem = problem;
  }

  /** The file (or folder) refused. */
  public Path path() {
    return path;
  }

  /** What is wrong with it, without the path. */
  public String problem() {
    return problem;
  }
}
