package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The revision graph read from {@code alembic history --verbose}: a branch, a merge, and lines that are not it. */
class AlembicRevisionsTest {
  // base ← a ← b ← d (merge of b and c), a ← c: as Alembic prints it, heads first.
  private static final List<String> HISTORY = List.of(
      "a revision printed this at import time",
      "Rev: d (head) (mergepoint)",
      "Merges: b, c",
      "Path: /tmp/x/versions/d_merge.py",
      "",
      "    merge b and c",
      "    ",
      "    Revision ID: d",
      "",
      "Rev: c",
      "Parent: a",
      "Path: /tmp/x/versions/c_side.py",
      "",
      "    side table",
      "",
      "Rev: b",
      "Parent: a",
      "Path: /tmp/x/versions/b_main.py",
      "",
      "    main table",
      "",
      "Rev: a (branchpoint)",
      "Parent: <base>",
      "Branches into: b, c",
      "Path: /tmp/x/versions/a_init.py",
      "",
      "    init");

  private final AlembicRevisions graph = AlembicRevisions.parse(HISTORY);

  @Test
  void readsIdsParentsFilesAndMessages() {
    assertThat(graph.all()).extracting(AlembicRevisions.Revision::id).containsExactly("d", "c", "b", "a");
    assertThat(graph.get("d").parents()).containsExactly("b", "c");
    assertThat(graph.get("d").merge()).isTrue();
    assertThat(graph.get("a").parents()).isEmpty();
    assertThat(graph.get("c").file()).isEqualTo("c_side.py");
    assertThat(graph.get("d").message()).isEqualTo("merge b and c");
    assertThat(graph.heads()).containsExactly("d");
  }

  @Test
  void upgradesOldestFirstAndDowngradesNewestFirst() {
    assertThat(graph.upgrade(Set.of(), Set.of("d"))).extracting(AlembicRevisions.Revision::id)
        .containsExactly("a", "b", "c", "d");
    assertThat(graph.upgrade(Set.of("b"), Set.of("d"))).extracting(AlembicRevisions.Revision::id).containsExactly("c", "d");
    assertThat(graph.upgrade(Set.of("a"), Set.of("c"))).extracting(AlembicRevisions.Revision::id).containsExactly("c");
    assertThat(graph.downgrade(Set.of("d"), "a")).extracting(AlembicRevisions.Revision::id).containsExactly("d", "c", "b");
    assertThat(graph.downgrade(Set.of("b"), AlembicRevisions.BASE)).extracting(AlembicRevisions.Revision::id)
        .containsExactly("b", "a");
  }

  @Test
  void resolvesPrefixesAndStepsDownButNotThroughAMerge() {
    assertThat(graph.resolve("d", "the set")).isEqualTo("d");
    assertThatThrownBy(() -> graph.resolve("zz", "the set")).hasMessageContaining("Alembic revision zz is not in the set")
        .hasMessageContaining("its heads are d");
    assertThat(graph.below(Set.of("b"), 1)).isEqualTo("a");
    assertThat(graph.below(Set.of("b"), 5)).isEqualTo(AlembicRevisions.BASE);
    assertThatThrownBy(() -> graph.below(Set.of("d"), 1)).hasMessageContaining("merge revision d");
    assertThatThrownBy(() -> graph.below(Set.of("b", "c"), 1)).hasMessageContaining("name the revision to go down to")
        .hasMessageMatching(".*the database is at (b and c|c and b);.*");
  }
}
