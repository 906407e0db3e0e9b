package dev.lockstep.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SummaryTest {

  @Test
  void nearestRankPercentilesOfOneToHundred() {
    double[] values = IntStream.rangeClosed(1, 100).mapToDouble(i -> 101 - i).toArray();
    Summary s = Summary.of(values);
    assertThat(s.count()).isEqualTo(100);
    assertThat(s.min()).isEqualTo(1);
    assertThat(s.median()).isEqualTo(50);
    assertThat(s.p99()).isEqualTo(99);
    assertThat(s.max()).isEqualTo(100);
    assertThat(s.mean()).isEqualTo(50.5);
  }

  @Test
  void p99OfASmallSampleIsItsMaximum() {
    Summary s = Summary.of(new double[] {5, 1, 3});
    assertThat(s.median()).isEqualTo(3);
    assertThat(s.p99()).isEqualTo(5);
  }

  @Test
  void anEmptySampleHasNoFigures() {
    Summary s = Summary.of(new double[0]);
    assertThat(s.count()).isZero();
    assertThat(s.p99()).isNaN();
  }

  @Test
  void skewIsMeasuredFromTheFirst() {
    assertThat(Summary.relativeToFirst(new double[] {1_000_010, 1_000_000, 1_000_040}))
        .containsExactly(10, 0, 40);
  }

  @Test
  void latenciesSplitTimeoutsFromOtherFailures() {
    Latencies l = new Latencies();
    for (int i = 0; i < 2000; i++) {
      l.record(i);
    }
    l.timeout();
    l.error();
    l.error();
    assertThat(l.summary().count()).isEqualTo(2000);
    assertThat(l.summary().p99()).isEqualTo(1979);
    assertThat(l.timeouts()).isEqualTo(1);
    assertThat(l.errors()).isEqualTo(2);
  }
}
