package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.locks.HeldLocks;
import dev.lockstep.coordinator.migration.locks.LockMode;
import dev.lockstep.rules.CatalogSnapshot;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

/**
 * What a rehearsal asks after each migration, in one round trip: the transaction it is in (it must never have
 * committed), the table locks it holds on the tables that existed before the release ({@link HeldLocks}; none asked
 * for when no table existed, since no other session can wait on a table it cannot see), and a digest of what {@code CatalogDiff} judges there — the tables that existed before the release and
 * every view — by everything the diff reads of them (schema and name, kind, each column's number, name, type, NOT NULL
 * and default, each constraint's name, type and validation). When the digest is the one before the migration, the
 * migration changed nothing the diff could call breaking or a drop, and the full catalog read is not needed; when it
 * differs (or for any change the digest could not tell apart), the rehearsal reads the catalog as before. The digest
 * covers a superset of what the diff compares, so it can only cause a read that was not needed, never skip one that
 * was. It reads the judged relations only, by OID, so its cost follows the schema old code uses, not what the release
 * has created so far.
 *
 * <pre>{@code RehearsalProbe probe = new RehearsalProbe(connection, existing);
 * RehearsalProbe.Seen seen = probe.look();   // transaction id, digest, locks}</pre>
 */
final class RehearsalProbe implements AutoCloseable {
  /** The transaction the rehearsal is in, the digest of the relations old code uses, the locks held on existing tables. */
  record Seen(long transaction, String judged, Map<String, LockMode> locks) {}

  // Every part names its relation by OID and is sorted as text, so equal catalogs give equal digests.
  private static final String LOOK = """
      with judged as (
        select c.oid, c.relkind, n.nspname, c.relname
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where (c.oid = any (?) or c.relkind in ('v', 'm'))
           and n.nspname not in ('pg_catalog', 'information_schema', '%s')
           and n.nspname not like 'pg\\_toast%%' and n.nspname not like 'pg\\_temp\\_%%')
      select txid_current(), %s, md5(coalesce((select string_agg(part, E'\\n' order by part) from (
          select j.oid::text || ' r ' || j.relkind::text || ' ' || quote_ident(j.nspname) || '.' || quote_ident(j.relname) as part
            from judged j
          union all
          select a.attrelid::text || ' a ' || a.attnum || ' ' || quote_ident(a.attname) || ' '
                 || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' ' || a.atthasdef::text
            from pg_attribute a join judged j on j.oid = a.attrelid
           where a.attnum > 0 and not a.attisdropped
          union all
          select k.conrelid::text || ' k ' || quote_ident(k.conname) || ' ' || k.contype::text || ' ' || k.convalidated::text
                 || ' ' || coalesce(array_to_string(k.conkey, ','), '')
            from pg_constraint k join judged j on j.oid = k.conrelid) parts), ''))
      """;

  private final PreparedStatement look;
  private final Map<Long, String> existing;

  /** @param existing the tables that existed before the release, OID → name: the ones the diff judges, with views */
  RehearsalProbe(Connection connection, Map<Long, String> existing) throws SQLException {
    this.existing = existing;
    // pg_locks lists every lock of every session (this transaction's on each object it created among them): costly to
    // read after every migration, and with no table existing it could only say "none".
    boolean locks = !existing.isEmpty();
    this.look = connection.prepareStatement(LOOK.formatted(CatalogSnapshot.COORDINATOR_SCHEMA,
        locks ? HeldLocks.HELD_ON : "null::text[]"));
    java.sql.Array oids = connection.createArrayOf("oid", existing.keySet().toArray());
    look.setArray(1, oids);
    if (locks) {
      look.setArray(2, oids);
    }
  }

  Seen look() throws SQLException {
    try (ResultSet rs = look.executeQuery()) {
      rs.next();
      java.sql.Array locks = rs.getArray(2);
      return new Seen(rs.getLong(1), rs.getString(3), locks == null ? Map.of() : HeldLocks.parse(locks, existing));
    }
  }

  @Override
  public void close() throws SQLException {
    look.close();
  }
}
