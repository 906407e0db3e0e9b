package dev.lockstep.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** How much a finding matters: {@code block} stops a release in PREFLIGHT. */
public enum Severity {
  INFO, WARN, BLOCK;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static Severity parse(String text) {
    for (Severity severity : values()) {
      if (severity.wireName().equalsIgnoreCase(text.trim())) {
        return severity;
      }
    }
    throw new IllegalArgumentException("unknown severity '" + text + "'; use info, warn or block");
  }
}
