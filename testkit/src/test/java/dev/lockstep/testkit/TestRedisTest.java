package dev.lockstep.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class TestRedisTest {
  @Test
  void findsARedisThatAnswersPing() {
    URI url = URI.create(TestRedis.url());
    assertThat(url.getScheme()).isEqualTo("redis");
    assertThat(TestRedis.ping(url.getHost(), url.getPort())).isEqualTo("+PONG");
    assertThat(TestRedis.url()).isEqualTo(url.toString());
  }

  @Test
  void aPortWithNothingBehindItIsReportedNotHidden() {
    assertThat(TestRedis.ping("127.0.0.1", 1)).contains("Connection refused");
  }
}
