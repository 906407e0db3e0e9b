package dev.lockstep.deploy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Just enough of a Dockerfile's structure for the tests: its stages and the instructions in each. */
final class Dockerfiles {
  private Dockerfiles() {}

  /** Stage name (or its index when unnamed) → the stage's instructions, continuation lines joined. */
  static Map<String, List<String>> stages(String dockerfile) {
    Map<String, List<String>> stages = new LinkedHashMap<>();
    List<String> current = null;
    for (String instruction : dockerfile.replaceAll("\\\\\\n", " ").lines().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList()) {
      if (instruction.regionMatches(true, 0, "FROM ", 0, 5)) {
        String[] words = instruction.split("\\s+");
        String name = words.length >= 4 && words[2].equalsIgnoreCase("AS") ? words[3] : Integer.toString(stages.size());
        current = new ArrayList<>();
        stages.put(name, current);
      }
      if (current != null) {
        current.add(instruction);
      }
    }
    return stages;
  }

  /** The value the stage's last {@code ENV name="value"} (or {@code ENV name=value}) gives, or null. */
  static String env(List<String> stage, String name) {
    String value = null;
    java.util.regex.Pattern assignment = java.util.regex.Pattern.compile(
        "(?:^|\\s)" + java.util.regex.Pattern.quote(name) + "=(\"([^\"]*)\"|(\\S*))");
    for (String instruction : stage) {
      if (instruction.regionMatches(true, 0, "ENV ", 0, 4)) {
        java.util.regex.Matcher m = assignment.matcher(instruction.substring(4));
        while (m.find()) {
          value = m.group(2) != null ? m.group(2) : m.group(3);
        }
      }
    }
    return value;
  }

  /** The argument of the last USER instruction of the last stage, or null when it has none. */
  static String lastUser(String dockerfile) {
    List<List<String>> all = new ArrayList<>(stages(dockerfile).values());
    return lastUser(all.get(all.size() - 1));
  }

  static String lastUser(List<String> stage) {
    String user = null;
    for (String instruction : stage) {
      if (instruction.regionMatches(true, 0, "USER ", 0, 5)) {
        user = instruction.substring(5).strip();
      }
    }
    return user;
  }
}
