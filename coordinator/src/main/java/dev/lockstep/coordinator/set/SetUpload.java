package dev.lockstep.coordinator.set;

import dev.lockstep.coordinator.error.LockstepException;
import java.util.Base64;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A migration set as a release request uploads it ({@code "migrations": {"V1__init.sql": "<Base64>"}}):
 * bounded, decoded and checked whole before anything is stored. Base64 carries the files' exact bytes,
 * so the set's digest is the one agents compute over the same files, and a file that is not UTF-8 can
 * be refused by name.
 *
 * <pre>{@code MigrationSet set = SetUpload.decode(request.migrations(), SetUpload.Limits.DEFAULT);}</pre>
 */
public final class SetUpload {
  /**
   * How much one upload may hold.
   *
   * @param maxBytes the files' total size, decoded
   * @param maxFiles how many files
   */
  public record Limits(long maxBytes, int maxFiles) {
    /**
     * 8 MiB and 10,000 files: six times a real 270-file chain (about 1.3 MB). Not 32 MiB: the request is
     * buffered and parsed whole, and a coordinator run with -Xmx128m ran out of heap on a 33 MiB set.
     */
    public static final Limits DEFAULT = new Limits(8L << 20, 10_000);

    /** The request body that carries a full set: Base64 adds a third, names and JSON a little more. */
    public long bodyBytes() {
      return maxBytes / 3 * 4 + 4 + (long) maxFiles * 300 + (1 << 20);
    }

    String describe() {
      return (maxBytes % (1 << 20) == 0 ? (maxBytes >> 20) + " MiB" : maxBytes + " bytes") + " and " + maxFiles + " files";
    }
  }

  private SetUpload() {}

  /**
   * @throws LockstepException TOO_LARGE past a limit (naming it), BAD_REQUEST for a value that is not
   *     Base64, UNPROCESSABLE for a set {@link MigrationSet#of} refuses
   */
  public static MigrationSet decode(Map<String, String> upload, Limits limits) {
    if (upload.size() > limits.maxFiles()) {
      throw new LockstepException(LockstepException.Code.TOO_LARGE, "the uploaded migration set has " + upload.size()
          + " files; the limits are " + limits.describe() + " per set");
    }
    SortedMap<String, byte[]> files = new TreeMap<>();
    long total = 0;
    for (Map.Entry<String, String> file : upload.entrySet()) {
      if (file.getValue() == null) {
        throw LockstepException.badRequest("file " + file.getKey() + " of the uploaded migration set has no content (null);"
            + " send the Base64 of its bytes (an empty file is \"\")");
      }
      byte[] bytes;
      try {
        bytes = Base64.getDecoder().decode(file.getValue());
      } catch (IllegalArgumentException e) {
        throw LockstepException.badRequest("file " + file.getKey() + " of the uploaded migration set is not Base64 ("
            + e.getMessage() + "); send the Base64 (RFC 4648, no line breaks) of its bytes");
      }
      total += bytes.length;
      if (total > limits.maxBytes()) {
        throw new LockstepException(LockstepException.Code.TOO_LARGE, "the uploaded migration set is larger than the limit of "
            + limits.describe() + " (over the limit at " + file.getKey() + ")");
      }
      files.put(file.getKey(), bytes);
    }
    return MigrationSet.of("the uploaded set", files);
  }
}
