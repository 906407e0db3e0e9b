package dev.lockstep.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class LockFootprintTest {
  private static LockFootprint share(Long held, boolean cut) {
    return new LockFootprint("V7 (index orders)", "public.orders", "SHARE", List.of(LockFootprint.WRITES), 3_000_000L,
        432_013_312L, held, held, cut, "CREATE INDEX CONCURRENTLY");
  }

  @Test
  void oneLineSaysTheModeTheTableItsSizeHowLongAndWhatItBlocks() {
    assertThat(share(912L, false).describe()).isEqualTo("V7 (index orders): SHARE lock on public.orders"
        + " (3.0 M rows, 412 MB) held 0.91 s in rehearsal — blocks writes; hint: CREATE INDEX CONCURRENTLY");
    assertThat(share(61L, true).describe()).contains("held 0.06 s in rehearsal before it stepped aside for a"
        + " waiting session (the release holds it longer)");
    assertThat(share(null, false).describe()).contains("not timed (rehearsed on a schema-only clone");
  }

  @Test
  void sizesReadAtAGlance() {
    assertThat(LockFootprint.count(999)).isEqualTo("999");
    assertThat(LockFootprint.count(45_600)).isEqualTo("46 k");
    assertThat(LockFootprint.count(1_250_000_000L)).isEqualTo("1.3 G");
    assertThat(LockFootprint.bytes(136 * 1024)).isEqualTo("136 kB");
    assertThat(LockFootprint.bytes(3L << 30)).isEqualTo("3.0 GB");
    assertThat(new LockFootprint("V1 (x)", "public.t", "ACCESS EXCLUSIVE", List.of("writes", "reads"), null, 8192L,
        3L, 3L, false, null).describe()).contains("(rows unknown, 8 kB)").endsWith("blocks reads and writes");
  }

  @Test
  void itTravelsAsJsonAndAnOldDocumentWithoutLocksReadsAsNone() {
    LockFootprint lock = share(912L, false);
    String json = Json.write(lock);
    assertThat(json).contains("\"mode\":\"SHARE\"").contains("\"blocks\":[\"writes\"]").doesNotContain("describe");
    assertThat(Json.read(json, LockFootprint.class)).isEqualTo(lock);
    CheckReport old = Json.read("{\"service\":\"app\",\"pending\":[],\"findings\":[],\"repairs\":[],\"mode\":\"online\","
        + "\"modeReason\":\"x\",\"blocked\":false,\"elapsedMs\":1}", CheckReport.class);
    assertThat(old.locks()).isEmpty();
  }
}
