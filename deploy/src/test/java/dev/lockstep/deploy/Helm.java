package dev.lockstep.deploy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/** {@code helm template} and {@code helm lint} of a chart, run with the real helm. */
final class Helm {
  private Helm() {}

  /** The objects {@code helm template RELEASE CHART args…} renders; fails with helm's output if it fails. */
  static List<JsonNode> template(Path chart, String release, String... args) {
    return Manifests.parseAll(templateRun(chart, release, args).ok().output());
  }

  static Tools.Result templateRun(Path chart, String release, String... args) {
    List<String> all = new ArrayList<>(List.of("template", release, chart.toString(), "--namespace", "lockstep"));
    all.addAll(List.of(args));
    return Tools.runIn(null, Tools.helm(), all);
  }

  /** {@code helm lint [--strict]}: exit 0, no chart failed, and nothing said at WARNING or ERROR level. */
  static String lint(Path chart, boolean strict) {
    List<String> args = new ArrayList<>(List.of("lint", chart.toString()));
    if (strict) {
      args.add("--strict");
    }
    String out = Tools.runIn(null, Tools.helm(), args).ok().output();
    if (!out.contains("1 chart(s) linted, 0 chart(s) failed") || out.contains("[WARNING]") || out.contains("[ERROR]")) {
      throw new AssertionError("helm " + String.join(" ", args) + " is not clean:\n" + out);
    }
    return out;
  }
}
