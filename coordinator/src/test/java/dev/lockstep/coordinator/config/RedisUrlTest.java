package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RedisUrlTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "redis://127.0.0.1:6379            | redis://127.0.0.1:6379  | -   | -        | redis://127.0.0.1:6379",
      "redis://:s3cret@127.0.0.1:6379    | redis://127.0.0.1:6379  | -   | s3cret   | redis://:***@127.0.0.1:6379",
      "redis://app:s3cret@cache:6380     | redis://cache:6380      | app | s3cret   | redis://app:***@cache:6380",
      "rediss://app:s3:cret@cache:6380   | rediss://cache:6380     | app | s3:cret  | rediss://app:***@cache:6380",
      "redis://s3cret@cache:6379/0       | redis://cache:6379/0    | -   | s3cret   | redis://:***@cache:6379/0",
      "redis://:s3%40cret@cache          | redis://cache           | -   | s3@cret  | redis://:***@cache"})
  void credentialsComeApartFromTheAddressAndNeverShow(String url, String address, String user, String password, String shown) {
    RedisUrl redis = RedisUrl.parse(url);
    assertThat(redis).isEqualTo(new RedisUrl(address, user, password));
    assertThat(redis.toString()).isEqualTo(shown).doesNotContain("s3");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://:s3cret@cache:6379", "redis://:s3 cret@cache", "redis://app:s3@cr@cache:6380", "cache:6379"})
  void anythingElseIsRefusedWithoutShowingIt(String url) {
    assertThatThrownBy(() -> RedisUrl.parse(url)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--redis-url must look like").hasMessageNotContaining("s3").hasMessageNotContaining("cache");
  }
}
