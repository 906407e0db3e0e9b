package dev.lockstep.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits SQL text into what PostgreSQL reads as code and what it reads as quoted text or comments,
 * so that a keyword, a {@code ;} or a template placeholder is only recognised where it really is one:
 * {@code CONCURRENTLY} in a comment does not make a statement non-transactional, and a placeholder
 * inside a string literal must be refused, since a quoted identifier is not safe there.
 *
 * <p>Knows {@code '…'} (with {@code ''}), {@code E'…'} (with backslash escapes), {@code "…"},
 * {@code $tag$…$tag$}, {@code -- …} and nested {@code /* … *}{@code /}.
 */
final class SqlLexer {
  private SqlLexer() {}

  enum Kind { CODE, STRING, QUOTED_IDENTIFIER, DOLLAR_STRING, COMMENT }

  /**
   * A stretch of the text, {@code end} exclusive.
   *
   * @param closed false for a string, identifier or comment that runs off the end of the text
   */
  record Span(Kind kind, int start, int end, boolean closed) {
    String text(String sql) {
      return sql.substring(start, end);
    }
  }

  static List<Span> spans(String sql) {
    List<Span> spans = new ArrayList<>();
    int n = sql.length();
    int code = 0;
    int i = 0;
    while (i < n) {
      char c = sql.charAt(i);
      char next = i + 1 < n ? sql.charAt(i + 1) : '\0';
      Span quoted = null;
      if (c == '-' && next == '-') {
        int eol = sql.indexOf('\n', i);
        quoted = new Span(Kind.COMMENT, i, eol < 0 ? n : eol, true);
      } else if (c == '/' && next == '*') {
        quoted = blockComment(sql, i);
      } else if (c == '\'') {
        boolean escapes = i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
            && (i < 2 || !identifierChar(sql.charAt(i - 2)));
        quoted = string(sql, i, escapes);
      } else if (c == '"') {
        quoted = quotedIdentifier(sql, i);
      } else if (c == '$' && (i == 0 || !identifierChar(sql.charAt(i - 1)))) {
        quoted = dollarString(sql, i);
      }
      if (quoted == null) {
        i++;
        continue;
      }
      if (code < i) {
        spans.add(new Span(Kind.CODE, code, i, true));
      }
      spans.add(quoted);
      i = quoted.end();
      code = i;
    }
    if (code < n) {
      spans.add(new Span(Kind.CODE, code, n, true));
    }
    return spans;
  }

  /**
   * Where a statement of the text starts and ends ({@code end} exclusive, before its {@code ;}), with
   * surrounding whitespace left out.
   */
  record Range(int start, int end) {
    String text(String sql) {
      return sql.substring(start, end);
    }
  }

  /** The statements of {@code sql}, split at the semicolons that are code, trimmed, empty ones left out. */
  static List<String> statements(String sql) {
    return ranges(sql).stream().map(r -> r.text(sql)).toList();
  }

  /**
   * The statements of {@code sql} as ranges of the text, split at the semicolons that are code. A
   * SQL-standard routine body ({@code CREATE FUNCTION … BEGIN ATOMIC …; …; END}) is one statement: its
   * inner semicolons are not code-level ends, so {@code BEGIN ATOMIC} opens a block that its
   * {@code END} closes ({@code CASE … END} inside it counted).
   */
  static List<Range> ranges(String sql) {
    List<Range> ranges = new ArrayList<>();
    int start = 0;
    int atomicDepth = 0;
    int caseDepth = 0;
    String previousWord = "";
    for (Span span : spans(sql)) {
      if (span.kind() != Kind.CODE) {
        continue;
      }
      int i = span.start();
      while (i < span.end()) {
        char c = sql.charAt(i);
        if (Character.isLetter(c) || c == '_') {
          int wordStart = i;
          while (i < span.end() && identifierChar(sql.charAt(i))) {
            i++;
          }
          String word = sql.substring(wordStart, i).toUpperCase(Locale.ROOT);
          if (word.equals("ATOMIC") && previousWord.equals("BEGIN")) {
            atomicDepth++;
          } else if (atomicDepth > 0 && word.equals("CASE")) {
            caseDepth++;
          } else if (atomicDepth > 0 && word.equals("END")) {
            if (caseDepth > 0) {
              caseDepth--;
            } else {
              atomicDepth--;
            }
          }
          previousWord = word;
          continue;
        }
        if (identifierChar(c)) {
          while (i < span.end() && identifierChar(sql.charAt(i))) {
            i++;
          }
          previousWord = "";
          continue;
        }
        if (c == ';' && atomicDepth == 0) {
          addTrimmed(ranges, sql, start, i);
          start = i + 1;
        }
        if (!Character.isWhitespace(c)) {
          previousWord = "";
        }
        i++;
      }
    }
    addTrimmed(ranges, sql, start, sql.length());
    return ranges;
  }

  /** The bare words of the code, upper case, in order: keywords and unquoted identifiers. */
  static List<String> words(String sql) {
    List<String> words = new ArrayList<>();
    for (Span span : spans(sql)) {
      if (span.kind() != Kind.CODE) {
        continue;
      }
      int i = span.start();
      while (i < span.end()) {
        char c = sql.charAt(i);
        if (Character.isLetter(c) || c == '_') {
          int start = i;
          while (i < span.end() && identifierChar(sql.charAt(i))) {
            i++;
          }
          words.add(sql.substring(start, i).toUpperCase(Locale.ROOT));
        } else if (identifierChar(c)) {
          while (i < span.end() && identifierChar(sql.charAt(i))) {
            i++; // a number such as 12abc: not a word
          }
        } else {
          i++;
        }
      }
    }
    return words;
  }

  static boolean identifierChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80;
  }

  private static void addTrimmed(List<Range> ranges, String sql, int start, int end) {
    while (start < end && Character.isWhitespace(sql.charAt(start))) {
      start++;
    }
    while (end > start && Character.isWhitespace(sql.charAt(end - 1))) {
      end--;
    }
    if (start < end) {
      ranges.add(new Range(start, end));
    }
  }

  private static Span blockComment(String sql, int start) {
    int depth = 0;
    int i = start;
    while (i < sql.length() - 1) {
      String two = sql.substring(i, i + 2);
      if (two.equals("/*")) {
        depth++;
        i += 2;
      } else if (two.equals("*/")) {
        depth--;
        i += 2;
        if (depth == 0) {
          return new Span(Kind.COMMENT, start, i, true);
        }
      } else {
        i++;
      }
    }
    return new Span(Kind.COMMENT, start, sql.length(), false);
  }

  private static Span string(String sql, int start, boolean backslashEscapes) {
    int i = start + 1;
    while (i < sql.length()) {
      char c = sql.charAt(i);
      if (backslashEscapes && c == '\\') {
        i += 2;
      } else if (c == '\'') {
        if (i + 1 < sql.length() && sql.charAt(i + 1) == '\'') {
          i += 2;
        } else {
          return new Span(Kind.STRING, start, i + 1, true);
        }
      } else {
        i++;
      }
    }
    return new Span(Kind.STRING, start, sql.length(), false);
  }

  private static Span quotedIdentifier(String sql, int start) {
    int i = start + 1;
    while (i < sql.length()) {
      if (sql.charAt(i) == '"') {
        if (i + 1 < sql.length() && sql.charAt(i + 1) == '"') {
          i += 2;
          continue;
        }
        return new Span(Kind.QUOTED_IDENTIFIER, start, i + 1, true);
      }
      i++;
    }
    return new Span(Kind.QUOTED_IDENTIFIER, start, sql.length(), false);
  }

  /** {@code $$…$$} or {@code $tag$…$tag$}; null for a parameter such as {@code $1}. */
  private static Span dollarString(String sql, int start) {
    int i = start + 1;
    while (i < sql.length() && sql.charAt(i) != '$') {
      char c = sql.charAt(i);
      boolean tagChar = Character.isLetter(c) || c == '_' || c >= 0x80 || (i > start + 1 && Character.isDigit(c));
      if (!tagChar) {
        return null;
      }
      i++;
    }
    if (i >= sql.length()) {
      return null;
    }
    String tag = sql.substring(start, i + 1);
    int close = sql.indexOf(tag, i + 1);
    return close < 0
        ? new Span(Kind.DOLLAR_STRING, start, sql.length(), false)
        : new Span(Kind.DOLLAR_STRING, start, close + tag.length(), true);
  }
}
