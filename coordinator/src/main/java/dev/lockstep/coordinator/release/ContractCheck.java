package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Whether a release's contract may run: every agent of the service on the release's revision and none on another. A
 * pure judgement of the registry, so it is tested without a fleet. What does not hold it back:
 * <ul>
 *   <li>an agent on the target revision, whatever its state (it runs the new code);
 *   <li>a readiness-mode instance that retired (it takes no traffic) or left;
 *   <li>an ephemeral agent that went silent (a pod that is gone; it never comes back under its id).
 * </ul>
 * Everything else on another revision holds it back, a long-lived server that went silent included: it may come back
 * on the old code. So does a participant missing from the registry that did not leave (Redis lost the registry: the
 * agents report again within seconds, and until they do nobody can tell what they run).
 */
final class ContractCheck {
  private ContractCheck() {}

  /**
   * The agents the contract waits for, described ({@code a-2 on v1 (serving)}); empty when it may run.
   *
   * @param departed the ephemeral agents that went, by id
   */
  static List<String> waitingFor(ReleaseDocument doc, List<AgentStatus> registered,
                                 Map<String, AgentRegistry.Departure> departed) {
    String target = doc.revision();
    List<String> waiting = new ArrayList<>();
    for (AgentStatus a : registered) {
      if (target.equals(a.revision()) || a.state() == AgentState.RETIRED || (a.ephemeral() && a.state() == AgentState.LOST)) {
        continue;
      }
      waiting.add(a.id() + " on " + a.revision() + " (" + a.state().wireName()
          + (a.state() == AgentState.LOST ? " since " + a.lastSeen() : "") + ")");
    }
    Set<String> present = registered.stream().map(AgentStatus::id).collect(Collectors.toSet());
    for (ReleaseAgent p : doc.agents()) {
      boolean retired = p.role() == ReleaseRole.RETIRING && p.switchedAt() != null;
      if (!p.gone() && !retired && !present.contains(p.id()) && !departed.containsKey(p.id())) {
        waiting.add(p.id() + " (not in the registry: it has not reported since Redis lost it)");
      }
    }
    return waiting;
  }
}
