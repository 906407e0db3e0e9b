package dev.lockstep.coordinator.identity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The operators' named tokens, so the audit names a person or a pipeline rather than "the token".
 * {@code --token T} is one token named {@value #SINGLE}; {@code --token-file F} holds one per line:
 *
 * <pre>
 * # who: token, or the token's SHA-256 so the file need not hold the secret
 * alice:6f1c0e9b2a…
 * ci-deploy:sha256:9b74c9897bac770ffc029102a200c5de3a3c5d1f6f1e0c8b1d9a3f5e2c4b6a8d
 * </pre>
 *
 * Blank lines and lines starting with {@code #} are skipped. Only the SHA-256 of each token is kept;
 * a presented token is hashed and compared with every entry in constant time, so neither its length
 * nor which entry it matched shows in the timing. A malformed line is refused naming the file and the
 * line, never the token.
 */
public final class OperatorTokens {
  /** The name of the token given with {@code --token}. */
  public static final String SINGLE = "operator";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@+-]{1,64}");
  private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]{64}");
  private static final String HASHED = "sha256:";

  private record Entry(String name, byte[] digest, String where) {}

  private final List<Entry> entries;

  private OperatorTokens(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /**
   * The tokens of {@code --token} (may be null) and {@code --token-file} (may be null); at least one.
   *
   * @throws IllegalArgumentException naming the file and line of a malformed, duplicate or unreadable entry
   */
  public static OperatorTokens load(String token, Path file) {
    List<Entry> entries = new ArrayList<>();
    if (token != null && !token.isBlank()) {
      add(entries, new Entry(SINGLE, sha256(token.trim()), "--token"), "--token: ");
    }
    if (file != null) {
      List<String> lines;
      try {
        lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        throw new IllegalArgumentException("token file " + file + " does not exist");
      } catch (IOException e) {
        throw new IllegalArgumentException("token file " + file + " cannot be read: " + e.getMessage());
      }
      int before = entries.size();
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        String where = "token file " + file + " line " + (i + 1);
        add(entries, parse(line, where), where + ": ");
      }
      if (entries.size() == before) {
        throw new IllegalArgumentException("token file " + file + " holds no tokens; write one 'name:token' per line");
      }
    }
    if (entries.isEmpty()) {
      throw new IllegalArgumentException("missing operator token: give --token (or LOCKSTEP_TOKEN), or --token-file"
          + " (or LOCKSTEP_TOKEN_FILE) with one 'name:token' per line");
    }
    return new OperatorTokens(entries);
  }

  private static Entry parse(String line, String where) {
    int colon = line.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(where + ": expected 'name:token' (or 'name:sha256:<64 hex digits>'), found no ':'");
    }
    String name = line.substring(0, colon).strip();
    String secret = line.substring(colon + 1).strip();
    if (name.isEmpty()) {
      throw new IllegalArgumentException(where + ": the name before ':' is empty");
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(where + ": the name may only be 1–64 letters, digits or . _ @ + -");
    }
    if (secret.isEmpty()) {
      throw new IllegalArgumentException(where + ": the token of '" + name + "' is empty");
    }
    if (secret.startsWith(HASHED)) {
      String hex = secret.substring(HASHED.length());
      if (!HEX.matcher(hex).matches()) {
        throw new IllegalArgumentException(where + ": the hash of '" + name + "' must be 'sha256:' and 64 hex digits"
            + " (e.g. from `printf %s \"$TOKEN\" | sha256sum`)");
      }
      return new Entry(name, HexFormat.of().parseHex(hex.toLowerCase()), where);
    }
    if (secret.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(where + ": the token of '" + name + "' contains white space");
    }
    return new Entry(name, sha256(secret), where);
  }

  private static void add(List<Entry> entries, Entry entry, String prefix) {
    for (Entry other : entries) {
      if (other.name().equals(entry.name())) {
        throw new IllegalArgumentException(prefix + "the name '" + entry.name() + "' is given already (" + other.where()
            + "); each token needs a name of its own");
      }
      if (MessageDigest.isEqual(other.digest(), entry.digest())) {
        throw new IllegalArgumentException(prefix + "the token of '" + entry.name() + "' is the same as that of '"
            + other.name() + "' (" + other.where() + "); give each its own token");
      }
    }
    entries.add(entry);
  }

  /** The name of the token {@code presented}, if it is one of these; every entry is compared, in constant time. */
  public Optional<String> nameOf(String presented) {
    byte[] digest = sha256(presented);
    String found = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(digest, e.digest()) && found == null) {
        found = e.name();
      }
    }
    return Optional.ofNullable(found);
  }

  /** The names, in the order given. */
  public List<String> names() {
    return entries.stream().map(Entry::name).toList();
  }

  static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
