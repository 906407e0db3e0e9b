package dev.lockstep.coordinator;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's packages form a hierarchy (docs/architecture.md), from the entry points down:
 *
 * <pre>
 *   (root)            LockstepMain
 *   cli, server       the operator CLI; serve: options, wiring, the Coordinator lifecycle
 *   http              one class of routes per resource
 *   release, preflight, baseline     the use cases
 *   migration (flyway, alembic), lock, fleet     the engines, the fence, the fleet
 *   store, set, config, identity, tls            PostgreSQL and Redis, migration sets, settings
 *   error             the one coded error
 * </pre>
 *
 * A package may use its own layer and the layers below it, never one above, and no packages depend on each other in a
 * circle. A failure names the edge that broke the rule: {@code Class <A> calls method <B.m()> in (A.java:12)}.
 */
class ArchitectureTest {
  private static final String ROOT = "dev.lockstep.coordinator";
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
  }

  @Test
  void layersDependOnlyOnLayersBelowThem() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("main").definedBy(ROOT)
        .layer("entry").definedBy(ROOT + ".cli..", ROOT + ".server..")
        .layer("api").definedBy(ROOT + ".http..")
        .layer("use cases").definedBy(ROOT + ".release..", ROOT + ".preflight..", ROOT + ".baseline..")
        .layer("engines, fence, fleet").definedBy(ROOT + ".migration..", ROOT + ".lock..", ROOT + ".fleet..")
        .layer("stores and settings").definedBy(ROOT + ".store..", ROOT + ".set..", ROOT + ".config..",
            ROOT + ".identity..", ROOT + ".tls..")
        .layer("error").definedBy(ROOT + ".error..")
        .whereLayer("main").mayNotBeAccessedByAnyLayer()
        .whereLayer("entry").mayOnlyBeAccessedByLayers("main")
        .whereLayer("api").mayOnlyBeAccessedByLayers("entry")
        .whereLayer("use cases").mayOnlyBeAccessedByLayers("api", "entry")
        .whereLayer("engines, fence, fleet").mayOnlyBeAccessedByLayers("use cases", "api", "entry")
        .whereLayer("stores and settings").mayOnlyBeAccessedByLayers("engines, fence, fleet", "use cases", "api", "entry")
        .whereLayer("error").mayOnlyBeAccessedByLayers("stores and settings", "engines, fence, fleet", "use cases", "api",
            "entry", "main")
        .because("a newcomer reads the coordinator from the entry points down (docs/architecture.md)")
        .check(classes);
  }

  @Test
  void noPackagesDependOnEachOtherInACircle() {
    slices().matching(ROOT + ".(**)").namingSlices("package $1")
        .should().beFreeOfCycles()
        .because("a circle of packages cannot be read from one end")
        .check(classes);
  }
}
