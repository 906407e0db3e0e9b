package dev.lockstep.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * Where a release's contract migrations are (DESIGN.md, "Contract migrations"). {@code none}: the release has none.
 * {@code waiting}: they wait for the switch and then for every server to run the new code. {@code pending}: the old
 * code was still there when the wait ended (or {@code --contract defer}); {@code lockstep contract} applies them later,
 * and the next release refuses to start until then. {@code applied}: committed. {@code failed}: rolled back, the schema
 * as before the contract; the fleet keeps the new code.
 */
public enum ContractState {
  NONE, WAITING, PENDING, APPLIED, FAILED;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static ContractState parse(String text) {
    for (ContractState state : values()) {
      if (state.wireName().equalsIgnoreCase(text.trim())) {
        return state;
      }
    }
    throw new IllegalArgumentException("unknown contract state '" + text + "'; use none, waiting, pending, applied or"
        + " failed");
  }
}
