package dev.lockstep.coordinator.release;

/** Small wording shared by the phases. */
final class Releases {
  private Releases() {}

  /** A schema version for people: "(empty)" before the first migration. */
  static String orNone(String version) {
    return version == null ? "(empty)" : version;
  }
}
