package dev.lockstep.rules;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;

/**
 * The checksum Flyway stores in its history for an SQL migration, computed the way Flyway 13's
 * {@code ChecksumCalculator} does: a CRC32 over the script's lines read as UTF-8, each without its line
 * terminator ({@code \n}, {@code \r\n} or {@code \r}), the file's byte-order mark left out, as a signed
 * int. So line endings do not change it, and any other edit does.
 *
 * <pre>{@code
 * int checksum = FlywayChecksum.of(Path.of("migrations/V2__create_post.sql"));
 * // equals flyway_schema_history.checksum of version 2, unless the file was edited after it was applied
 * }</pre>
 */
public final class FlywayChecksum {
  private static final char BOM = '\uFEFF';

  private FlywayChecksum() {}

  /** The checksum of the file's content (Flyway's default encoding, UTF-8). */
  public static int of(Path file) throws IOException {
    try (Reader reader = new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8)) {
      return of(reader);
    }
  }

  /** The checksum of {@code script}. */
  public static int of(String script) {
    try {
      return of(new StringReader(script));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringReader does not fail
    }
  }

  private static int of(Reader content) throws IOException {
    CRC32 crc = new CRC32();
    BufferedReader lines = new BufferedReader(content, 4096);
    String line = lines.readLine();
    if (line != null && !line.isEmpty() && line.charAt(0) == BOM) {
      line = line.substring(1); // only the first line's: a U+FEFF further down is content to Flyway
    }
    for (; line != null; line = lines.readLine()) {
      crc.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return (int) crc.getValue();
  }
}
