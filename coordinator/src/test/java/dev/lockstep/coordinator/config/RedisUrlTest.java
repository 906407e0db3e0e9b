package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
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

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "redis-sentinel://s1,s2:26380#orders              | redis://s1:26379;redis://s2:26380 | -   | -      | 0 | orders | redis-sentinel://s1:26379,s2:26380#orders",
      "redis-sentinel://:s3cret@s1:26379,s2:26379/2#m   | redis://s1:26379;redis://s2:26379 | -   | s3cret | 2 | m      | redis-sentinel://:***@s1:26379,s2:26379/2#m",
      "redis-sentinel://app:s3:cr#et@10.0.0.1#my-master | redis://10.0.0.1:26379            | app | s3:cr#et | 0 | my-master | redis-sentinel://app:***@10.0.0.1:26379#my-master",
      "redis-sentinel://s3%40cret@[::1]:26379/0#m       | redis://[::1]:26379               | -   | s3@cret | 0 | m      | redis-sentinel://:***@[::1]:26379#m"})
  void aSentinelUrlNamesTheSentinelsTheDatabaseAndTheMaster(String url, String addresses, String user, String password,
                                                          int database, String master, String shown) {
    RedisUrl redis = RedisUrl.parse(url);
    assertThat(redis).isEqualTo(new RedisUrl(RedisUrl.Kind.SENTINEL, List.of(addresses.split(";")), user, password,
        database, master));
    assertThat(redis.toString()).isEqualTo(shown).doesNotContain("s3");
    assertThat(redis.tls()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "redis-cluster://h1:7000,h2:7001,h3            | redis://h1:7000;redis://h2:7001;redis://h3:6379 | -   | -      | redis-cluster://h1:7000,h2:7001,h3:6379",
      "redis-cluster://app:s3cret@h1:7000/0          | redis://h1:7000                                 | app | s3cret | redis-cluster://app:***@h1:7000"})
  void aClusterUrlNamesSomeNodes(String url, String addresses, String user, String password, String shown) {
    RedisUrl redis = RedisUrl.parse(url);
    assertThat(redis).isEqualTo(new RedisUrl(RedisUrl.Kind.CLUSTER, List.of(addresses.split(";")), user, password, null, null));
    assertThat(redis.toString()).isEqualTo(shown).doesNotContain("s3");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "redis-sentinel://:s3cret@s1:26379,s2:26379        | names no master: end it with #NAME",
      "redis-sentinel://:s3cret@s1:26379/1#              | names no master",
      "redis-sentinel://:s3cret@#m                       | names no sentinel",
      "redis-sentinel://:s3cret@,#m                      | names no sentinel",
      "redis-sentinel://:s3cret@s1:263790#m              | 's1:263790' has no valid port",
      "redis-sentinel://:s3cret@s1:x#m                   | 's1:x' has no valid port",
      "redis-sentinel://:s3cret@s1/x#m                   | the database after / must be a number",
      "redis-sentinel://:s3cret@s1?sentinelMasterId=m    | query options are not read",
      "redis-sentinel://:s3cret@s_1 x#m                  | 's_1 x' is not a host name",
      "redis-cluster://:s3cret@h1:7000/3                 | Redis Cluster has only database 0; drop /3",
      "redis-cluster://:s3cret@h1:7000#m                 | a cluster has no master name",
      "redis-cluster://:s3cret@                          | names no cluster node",
      "rediss-sentinel://:s3cret@s1#m                    | (TLS to Redis Sentinel or Cluster) is not supported yet",
      "rediss-cluster://:s3cret@h1                       | is not supported yet"})
  void aBadSentinelOrClusterUrlIsRefusedSayingWhyWithoutItsPassword(String url, String why) {
    assertThatThrownBy(() -> RedisUrl.parse(url)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(why).hasMessageNotContaining("s3cret");
  }
}
