package dev.lockstep.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class PagingAndTimelineTest {
  private static final String BASE = "http://127.0.0.1:7070";
  private static final String FIRST = BASE + "/v1/agents?service=shop";

  @Test
  void anUnpagedListHasNoNextPage() throws Exception {
    assertThat(OperatorApi.nextPage(BASE, FIRST, json("{\"agents\": []}"))).isNull();
    assertThat(OperatorApi.nextPage(BASE, FIRST, json("{\"agents\": [], \"next\": null}"))).isNull();
  }

  @Test
  void aNextPathOrCursorIsFollowed() throws Exception {
    assertThat(OperatorApi.nextPage(BASE, FIRST, json("{\"next\": \"/v1/agents?service=shop&after=web-9\"}")))
        .isEqualTo(BASE + "/v1/agents?service=shop&after=web-9");
    assertThat(OperatorApi.nextPage(BASE, FIRST, json("{\"nextCursor\": \"a b\"}")))
        .isEqualTo(FIRST + "&cursor=a%20b");
  }

  @Test
  void aPageIsCountedByStateWithoutATreeAndItsPagingFieldsKept() {
    OperatorApi.PageSummary page = OperatorApi.PageSummary.of("{\"agents\": [{\"id\": \"a\", \"state\": \"serving\","
        + " \"labels\": {\"state\": \"not this one\"}, \"revisions\": [1, {\"state\": \"nor this\"}]},"
        + " {\"state\": \"lost\", \"id\": \"b\"}, {\"id\": \"c\"}, {\"id\": \"d\", \"state\": \"serving\"}],"
        + " \"total\": 9, \"next\": \"/v1/agents?service=shop&after=d\", \"extra\": {\"next\": \"no\"}}");
    assertThat(page.agents()).isEqualTo(4);
    assertThat(page.byState()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of("serving", 2, "lost", 1, "?", 1));
    assertThat(OperatorApi.nextPage(BASE, FIRST, page.links())).isEqualTo(BASE + "/v1/agents?service=shop&after=d");
    assertThat(OperatorApi.nextPage(BASE, FIRST, OperatorApi.PageSummary.of("{\"agents\": [], \"next\": null}").links()))
        .isNull();
  }

  @Test
  void phasesLastUntilTheNextOneStarts() throws Exception {
    Instant created = Instant.parse("2026-12-07T10:00:00Z");
    List<JsonNode> events = List.of(
        event(1, "2026-12-07T10:00:00.100Z", "PLANNED"),
        event(2, "2026-12-07T10:00:00.500Z", "PREFLIGHT"),
        event(3, "2026-12-07T10:00:00.800Z", "PREPARING"),
        event(4, "2026-12-07T10:00:00.900Z", "PREPARING"),
        event(5, "2026-12-07T10:00:01.000Z", "MIGRATING"),
        event(6, "2026-12-07T10:00:01.250Z", "SWITCHING"),
        event(7, "2026-12-07T10:00:01.600Z", "COMPLETED"));
    ReleaseTimeline timeline = new ReleaseTimeline(created, events);
    assertThat(timeline.sinceRequestMs(Phase.COMPLETED)).isEqualTo(1600.0);
    assertThat(timeline.phaseMs()).containsEntry(Phase.PLANNED, 500.0).containsEntry(Phase.PREPARING, 200.0)
        .containsEntry(Phase.SWITCHING, 350.0).doesNotContainKey(Phase.COMPLETED);
    assertThat(timeline.sinceRequestMs(Phase.CONTRACTING)).isNaN();
  }

  private static JsonNode event(long seq, String at, String phase) throws Exception {
    return json("{\"seq\": " + seq + ", \"at\": \"" + at + "\", \"phase\": \"" + phase + "\"}");
  }

  private static JsonNode json(String text) throws Exception {
    return Json.mapper().readTree(text);
  }
}
