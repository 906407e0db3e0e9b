package dev.lockstep.coordinator.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A plain aligned text table for human output. */
final class Table {
  private final List<String[]> rows = new ArrayList<>();

  Table(String... header) {
    rows.add(header);
  }

  Table row(Object... cells) {
    String[] r = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      r[i] = cells[i] == null ? "-" : cells[i].toString();
    }
    rows.add(r);
    return this;
  }

  void print(PrintStream out) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(i == r.length - 1 ? r[i] : String.format("%-" + (width[i] + 2) + "s", r[i]));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
