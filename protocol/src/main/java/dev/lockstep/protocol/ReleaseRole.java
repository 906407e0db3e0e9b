package dev.lockstep.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * How an agent takes part in a release to revision R, decided when it joins the release.
 *
 * <ul>
 *   <li>{@code in-place}: a long-lived server that stages and switches its own code with hooks (no readiness mode).
 *   <li>{@code new}: in readiness mode, an instance already on R (a new pod): it prepares (digest check) and switches
 *       by turning ready.
 *   <li>{@code retiring}: in readiness mode, an instance on another revision: it is not asked to prepare, and turns
 *       un-ready at the switch (at PREPARING in maintenance mode), reporting {@code retired}.
 * </ul>
 */
public enum ReleaseRole {
  IN_PLACE, NEW, RETIRING;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  @JsonCreator
  public static ReleaseRole parse(String text) {
    for (ReleaseRole role : values()) {
      if (role.wireName().equalsIgnoreCase(text.trim())) {
        return role;
      }
    }
    throw new IllegalArgumentException("unknown release role '" + text + "'; use in-place, new or retiring");
  }
}
