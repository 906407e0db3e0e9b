package dev.lockstep.coordinator.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Locale;

/**
 * The durable audit of agents that went from the registry ({@code lockstep.agent_departures}): who removed one and from
 * where, which ephemeral agents left when their pod stopped, and which were forgotten after going silent. The registry
 * itself is Redis, which forgets; this is what an operator reads afterwards ("where did web-7 go?").
 *
 * <pre>{@code departures.record("app", "web-7", AgentDepartures.How.LEFT, "v1", "app/web-7", "10.0.0.7")}</pre>
 */
public final class AgentDepartures {
  /** How an agent went. */
  public enum How {
    /** An operator removed it ({@code DELETE /v1/agents/{id}} with an operator token). */
    REMOVED,
    /** An ephemeral agent said it was leaving, on SIGTERM. */
    LEFT,
    /** An ephemeral agent was silent past {@code --lost-after} plus one report interval. */
    FORGOTTEN;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Pool pool;
  private final Clock clock;

  public AgentDepartures(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
  }

  /** Records one departure; {@code by} and {@code from} are null for a forgotten agent (no one asked). */
  public Future<Void> record(String service, String id, How how, String revision, String by, String from) {
    return pool.preparedQuery("INSERT INTO lockstep.agent_departures (service, agent_id, how, revision, requested_by,"
            + " requested_from, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .execute(Tuple.from(new Object[] {service, id, how.wireName(), revision, by, from,
            OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC)}))
        .mapEmpty();
  }
}
