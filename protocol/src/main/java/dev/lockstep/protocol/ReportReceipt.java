package dev.lockstep.protocol;

/**
 * What an agent reads in the answer to its report ({@code PUT /v1/agents/{id}}), beyond the {@link AgentStatus} the
 * answer also carries.
 *
 * @param sendMigrations the digest of a migration set the coordinator does not hold yet and asks this agent to upload
 *     ({@code PUT /v1/services/{service}/migration-sets/{digest}}): the set of the agent's migrations folder, which a
 *     release can then take from the new instances ({@code --migrations-from agents}); null when nothing is asked
 */
public record ReportReceipt(String sendMigrations) {}
