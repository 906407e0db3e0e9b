package dev.lockstep.coordinator.migration.locks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Where an index build stood ({@code pg_stat_progress_create_index}), and how long the whole build would take from
 * there. A B-tree build scans the table, sorts, then loads the tree; on a 3-million-row table here the scan took
 * 1.0 s of a 1.8 s build (55 %), so a build still scanning is estimated at twice its scan, a later phase from the
 * tuples loaded. An estimate, said as one.
 *
 * @param phase PostgreSQL's phase text, e.g. {@code building index: scanning table}
 */
public record IndexBuildProgress(String phase, long blocksDone, long blocksTotal, long tuplesDone, long tuplesTotal) {
  /** The scan's share of a B-tree build, measured (see above). */
  static final double SCAN_SHARE = 0.55;

  static Optional<IndexBuildProgress> read(Connection c, int backend) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total"
        + " FROM pg_stat_progress_create_index WHERE pid = ?")) {
      s.setInt(1, backend);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new IndexBuildProgress(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
            rs.getLong(5)));
      }
    }
  }

  /** The whole build's duration, estimated from {@code elapsedMs} so far; empty when the progress says too little. */
  public Optional<Long> estimateTotalMs(long elapsedMs) {
    if (phase == null) {
      return Optional.empty();
    }
    if (phase.contains("scanning table") && blocksTotal > 0 && blocksDone > 0) {
      double scanned = (double) blocksDone / blocksTotal;
      return Optional.of(Math.round(elapsedMs / scanned / SCAN_SHARE));
    }
    if (phase.contains("loading tuples") && tuplesTotal > 0 && tuplesDone > 0) {
      double loaded = (double) tuplesDone / tuplesTotal;
      return Optional.of(Math.round(elapsedMs / (SCAN_SHARE + (1 - SCAN_SHARE) * loaded)));
    }
    return Optional.empty();
  }
}
