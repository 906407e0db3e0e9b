package dev.lockstep.rules;

import java.sql.Array;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The few duplicated values a finding quotes when a key cannot hold, as in {@code 3 duplicated values
 * (e.g. 7, 9, 12)}: at most {@link #LIMIT}, each cut short, so that long text keys keep the message
 * readable. Shared by the rules that count duplicates, so that their messages read alike.
 *
 * <pre>{@code
 * String sql = "... array(select d.value::text from duplicated d order by d.value"
 *     + " limit " + DuplicateSamples.LIMIT + ")";
 * List<String> samples = DuplicateSamples.read(rows.getArray(2));   // ["7", "9", "12"]
 * }</pre>
 */
final class DuplicateSamples {
  /** How many duplicated values a finding quotes at most. */
  static final int LIMIT = 5;
  private static final int WIDTH = 40;

  private DuplicateSamples() {}

  /** The values of a SQL {@code text[]}, each cut to {@value #WIDTH} characters (ending in "…"); frees the array. */
  static List<String> read(Array array) throws SQLException {
    try {
      List<String> values = new ArrayList<>();
      for (String value : (String[]) array.getArray()) {
        values.add(value.length() > WIDTH ? value.substring(0, WIDTH - 1) + "…" : value);
      }
      return values;
    } finally {
      array.free();
    }
  }
}
