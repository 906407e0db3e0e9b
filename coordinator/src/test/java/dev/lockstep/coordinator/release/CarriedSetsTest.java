package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The run of a release this coordinator has just created takes its set from memory, named as the store names it. */
class CarriedSetsTest {

  @Test
  void aRememberedSetIsTakenByDigestWithoutReadingTheStore() {
    TreeMap<String, byte[]> files = new TreeMap<>();
    files.put("V1__create_user.sql", "CREATE TABLE u (id int);".getBytes(StandardCharsets.UTF_8));
    MigrationSet folder = MigrationSet.of("the migrations folder /srv/m", files);
    // No store, no engine, no worker: using any of them would fail the test.
    CarriedSets carried = new CarriedSets(null, null, null);
    carried.remember(folder);

    Future<MigrationSet> set = carried.of(new ReleaseDocument.Builder().id("r-1").migrationsDigest(folder.digest()).build());

    assertThat(set.succeeded()).isTrue();
    assertThat(set.result().digest()).isEqualTo(folder.digest());
    assertThat(set.result().files()).isEqualTo(folder.files());
    assertThat(set.result().origin()).startsWith("the set ").endsWith(" of release r-1");
  }
}
