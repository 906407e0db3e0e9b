package dev.lockstep.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * How a release treats the servers still on old code. {@code online}: the migrations only add, old
 * code keeps serving until the switch. {@code maintenance}: old code cannot read the new schema,
 * so agents stop serving while preparing. {@code auto} lets the coordinator decide and say why.
 */
public enum Mode {
  ONLINE, MAINTENANCE, AUTO;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code online|maintenance|auto}, case-insensitively. */
  @JsonCreator
  public static Mode parse(String text) {
    for (Mode mode : values()) {
      if (mode.wireName().equalsIgnoreCase(text.trim())) {
        return mode;
      }
    }
    throw new IllegalArgumentException("unknown mode '" + text + "'; use online, maintenance or auto");
  }
}
