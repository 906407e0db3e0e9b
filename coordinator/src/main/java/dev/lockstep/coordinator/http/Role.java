package dev.lockstep.coordinator.http;

/** Who is calling: operators may do everything; agents may only report and read their desired state. */
public enum Role {
  OPERATOR, AGENT
}
