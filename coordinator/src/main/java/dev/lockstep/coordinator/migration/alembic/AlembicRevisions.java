package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.error.LockstepException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An Alembic project's revision graph, as {@code alembic history --verbose} prints it: each revision's id, its
 * parents (two or more for a merge), its file and its message, in Alembic's own walk order (heads first, base
 * last). Upgrades run in the reverse of that order, which is the order Alembic itself applies them in.
 *
 * <pre>{@code AlembicRevisions graph = AlembicRevisions.parse(historyVerboseOutput);
 * List<Revision> up = graph.upgrade(Set.of("a1b2"), "heads");   // oldest first, as Alembic applies them
 * List<Revision> down = graph.downgrade(Set.of("c3d4"), "a1b2"); // newest first}</pre>
 */
public final class AlembicRevisions {
  /** {@code base}: the empty schema, below the first revision. */
  public static final String BASE = "base";

  /**
   * One revision.
   *
   * @param file the revision's file name (no folder), as the migration set names it
   */
  public record Revision(String id, List<String> parents, String file, String message) {
    public boolean merge() {
      return parents.size() > 1;
    }
  }

  private final Map<String, Revision> byId; // walk order: heads first

  private AlembicRevisions(Map<String, Revision> byId) {
    this.byId = byId;
  }

  /** Parses {@code alembic history --verbose}; lines that are not part of it (a revision that prints) are skipped. */
  public static AlembicRevisions parse(List<String> lines) {
    Map<String, Revision> byId = new LinkedHashMap<>();
    String id = null;
    List<String> parents = List.of();
    String file = null;
    String message = null;
    for (String line : lines) {
      if (line.startsWith("Rev: ")) {
        if (id != null) {
          byId.put(id, new Revision(id, parents, file, message == null ? "" : message));
        }
        id = line.substring(5).trim().split("\\s+")[0];
        parents = List.of();
        file = null;
        message = null;
      } else if (id == null) {
        continue;
      } else if (line.startsWith("Parent: ")) {
        String parent = line.substring(8).trim();
        parents = parent.equals("<base>") ? List.of() : List.of(parent);
      } else if (line.startsWith("Merges: ")) {
        parents = List.of(line.substring(8).trim().split("\\s*,\\s*"));
      } else if (line.startsWith("Path: ")) {
        String path = line.substring(6).trim();
        file = path.substring(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
      } else if (message == null && file != null && line.startsWith("    ") && !line.isBlank()) {
        message = line.trim();
      }
    }
    if (id != null) {
      byId.put(id, new Revision(id, parents, file, message == null ? "" : message));
    }
    return new AlembicRevisions(byId);
  }

  /** Every revision, in Alembic's walk order (heads first). */
  public List<Revision> all() {
    return List.copyOf(byId.values());
  }

  public boolean isEmpty() {
    return byId.isEmpty();
  }

  public Revision get(String id) {
    return byId.get(id);
  }

  /** The revisions no other revision names as a parent. */
  public List<String> heads() {
    Set<String> parents = new LinkedHashSet<>();
    byId.values().forEach(r -> parents.addAll(r.parents()));
    return byId.keySet().stream().filter(id -> !parents.contains(id)).toList();
  }

  /**
   * The full id that {@code text} names: an id, or a unique prefix of one (as Alembic accepts).
   *
   * @throws LockstepException UNPROCESSABLE for an unknown or ambiguous id
   */
  public String resolve(String text, String origin) {
    if (byId.containsKey(text)) {
      return text;
    }
    List<String> matches = byId.keySet().stream().filter(id -> id.startsWith(text)).toList();
    if (matches.size() == 1) {
      return matches.get(0);
    }
    if (matches.isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "Alembic revision " + text + " is not in "
          + origin + "; its heads are " + String.join(", ", heads()));
    }
    throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "Alembic revision prefix " + text + " is ambiguous in "
        + origin + ": " + String.join(", ", matches.subList(0, Math.min(5, matches.size()))) + "; give more of the id");
  }

  /** {@code ids} and all their ancestors. */
  public Set<String> closure(Set<String> ids) {
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(ids);
    while (!todo.isEmpty()) {
      String id = todo.pop();
      if (id.equals(BASE) || !seen.add(id)) {
        continue;
      }
      Revision r = byId.get(id);
      if (r != null) {
        todo.addAll(r.parents());
      }
    }
    return seen;
  }

  /**
   * What {@code alembic upgrade <targets>} applies from {@code current}: the revisions under the targets that are
   * not under the current ones, oldest first in Alembic's order.
   */
  public List<Revision> upgrade(Set<String> current, Set<String> targets) {
    Set<String> applied = closure(current);
    Set<String> wanted = closure(targets);
    List<Revision> up = new ArrayList<>();
    for (Revision r : byId.values()) {
      if (wanted.contains(r.id()) && !applied.contains(r.id())) {
        up.add(r);
      }
    }
    java.util.Collections.reverse(up);
    return up;
  }

  /** What a downgrade from {@code current} to {@code target} ({@code base}: everything) undoes, newest first. */
  public List<Revision> downgrade(Set<String> current, String target) {
    Set<String> applied = closure(current);
    Set<String> kept = target.equals(BASE) ? Set.of() : closure(Set.of(target));
    List<Revision> down = new ArrayList<>();
    for (Revision r : byId.values()) {
      if (applied.contains(r.id()) && !kept.contains(r.id())) {
        down.add(r);
      }
    }
    return down;
  }

  /**
   * The target of {@code alembic downgrade} that undoes merge revision {@code id} alone while {@code applied} are
   * applied: one of its parents with no applied descendant but the merge (Alembic's {@code downgrade X} undoes every
   * applied descendant of X, and {@code downgrade <merge>-1} is refused as an "Ambiguous walk"). Null when each parent
   * has another applied descendant, so no single downgrade undoes the merge alone.
   */
  public String unmergeTarget(String id, Set<String> applied) {
    Revision merge = byId.get(id);
    if (merge == null) {
      return null;
    }
    Map<String, List<String>> children = new LinkedHashMap<>();
    byId.values().forEach(r -> r.parents().forEach(p -> children.computeIfAbsent(p, k -> new ArrayList<>()).add(r.id())));
    for (String parent : merge.parents()) {
      Set<String> seen = new LinkedHashSet<>();
      Deque<String> todo = new ArrayDeque<>(children.getOrDefault(parent, List.of()));
      while (!todo.isEmpty()) {
        String child = todo.pop();
        if (seen.add(child)) {
          todo.addAll(children.getOrDefault(child, List.of()));
        }
      }
      seen.retainAll(applied);
      if (seen.equals(Set.of(id))) {
        return parent;
      }
    }
    return null;
  }

  /**
   * The revision {@code steps} below the single current head ({@code base} past the first), as
   * {@code alembic downgrade -N} goes.
   *
   * @throws LockstepException UNPROCESSABLE with several current heads, or when the walk meets a merge (which of
   *     its parents is "one below" is not defined: name the revision instead)
   */
  public String below(Set<String> current, int steps) {
    if (current.size() != 1) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "schema -" + steps + " goes down from the current"
          + " revision, but the database is at " + (current.isEmpty() ? "no revision (base)" : String.join(" and ", current))
          + "; name the revision to go down to");
    }
    String at = current.iterator().next();
    for (int i = 0; i < steps; i++) {
      Revision r = byId.get(at);
      if (r == null || r.parents().isEmpty()) {
        return BASE;
      }
      if (r.merge()) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "schema -" + steps + " would go down through"
            + " merge revision " + r.id() + " (of " + String.join(", ", r.parents()) + "); name the revision to go down to");
      }
      at = r.parents().get(0);
    }
    return at;
  }
}
