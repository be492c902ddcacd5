#include "engine/diagnostic.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "engine/internal_error.hpp"

namespace taxon {

namespace {

// Whether a line's `taxon: allow T0501, T0503 (why)` names `code`: codes follow the marker,
// separated by spaces or commas; the first word that is not a code ends the list.
bool allows(std::string_view line, std::string_view code) {
  constexpr std::string_view marker = "taxon: allow";
  auto at = line.find(marker);
  if (at == std::string_view::npos) return false;
  std::string_view rest = line.substr(at + marker.size());
  while (true) {
    auto start = rest.find_first_not_of(" \t,");
    if (start == std::string_view::npos) return false;
    rest.remove_prefix(start);
    std::string_view word = rest.substr(0, rest.find_first_of(" \t,"));
    if (!find_code(word)) return false;
    if (word == code) return true;
    rest.remove_prefix(word.size());
  }
}

// A warning or a note is silenced by `# taxon: allow CODE` at the end of its line or in the
// comment lines directly above it. An error cannot be: the rules would not do what they say.
bool allowed_at(const SourceFile& file, uint32_t at, std::string_view code) {
  if (allows(file.line_text(at), code)) return true;
  for (uint32_t line = at; line-- > 1;) {
    std::string_view text = file.line_text(line);
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] != '#') return false;
    if (allows(text, code)) return true;
  }
  return false;
}

bool allowed_here(const Diagnostic& diagnostic) {
  if (diagnostic.severity == Severity::error || !diagnostic.span.has_position()) return false;
  const SourceFile& file = *diagnostic.span.file;
  return allowed_at(file, diagnostic.span.line, diagnostic.code) ||
         (diagnostic.statement_line > 0 && allowed_at(file, diagnostic.statement_line, diagnostic.code));
}

}  // namespace

void Diagnostics::report(Diagnostic diagnostic) {
  if (!find_code(diagnostic.code))
    throw InternalError(fmt::format("diagnostic code '{}' is not in engine/diagnostic_codes.hpp (message: {})", diagnostic.code,
                                    diagnostic.message));
  std::string key = fmt::format("{}|{}|{}|{}|{}|{}", diagnostic.code, static_cast<int>(diagnostic.severity),
                                static_cast<const void*>(diagnostic.span.file.get()), diagnostic.span.line,
                                diagnostic.span.col, diagnostic.message);
  // Repeats (YAML aliases, inlined bindings) are dropped before the source is searched for an allow.
  if (seen_.insert(std::move(key)).second && !allowed_here(diagnostic)) items_.push_back(std::move(diagnostic));
}

void Diagnostics::error(std::string_view code, SourceSpan span, std::string message, std::string hint) {
  report({std::string(code), Severity::error, std::move(span), std::move(message), std::move(hint)});
}
void Diagnostics::warning(std::string_view code, SourceSpan span, std::string message, std::string hint) {
  report({std::string(code), Severity::warning, std::move(span), std::move(message), std::move(hint)});
}
void Diagnostics::note(std::string_view code, SourceSpan span, std::string message, std::string hint) {
  report({std::string(code), Severity::note, std::move(span), std::move(message), std::move(hint)});
}

std::size_t Diagnostics::count(Severity severity) const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [&](const Diagnostic& d) { return d.severity == severity; }));
}

void Diagnostics::append(const Diagnostics& other) {
  for (const auto& diagnostic : other.items_) report(diagnostic);
}

namespace {

constexpr std::size_t kMaxShownLine = 100;

// Tabs would misplace the caret; show them as one space each, as rustc does.
// The length of the well-formed UTF-8 sequence at text[i] (no overlong forms, no surrogates,
// nothing past U+10FFFF, no NUL), or 0 when there is none.
std::size_t utf8_length_at(std::string_view text, std::size_t i) {
  auto byte = static_cast<unsigned char>(text[i]);
  std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || byte == 0 || i + length > text.size()) return 0;
  if (length == 1) return 1;
  uint32_t point = byte & (0xFF >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    point = (point << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  bool valid = point >= kSmallest[length] && point <= 0x10FFFF && (point < 0xD800 || point > 0xDFFF);
  return valid ? length : 0;
}

// A source line as a terminal may show it: tabs as spaces, and each byte that is not UTF-8 (or
// a control character) as '?', one column each, so the caret below stays aligned.
std::string printable_line(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size();) {
    std::size_t length = utf8_length_at(line, i);
    auto byte = static_cast<unsigned char>(line[i]);
    if (length == 0 || (length == 1 && byte < 0x20 && byte != '\t')) {
      out += '?';
      ++i;
    } else {
      out.append(byte == '\t' ? std::string_view(" ") : line.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace

std::string render_text(const Diagnostic& d) {
  std::string out = fmt::format("{}[{}]: ", severity_name(d.severity), d.code);
  if (d.span.file) {
    out += d.span.path();
    if (d.span.line > 0) out += fmt::format(":{}:{}", d.span.line, d.span.col);
    out += ": ";
  }
  out += d.message;
  out += '\n';
  std::string gutter;
  if (d.span.has_position()) {
    std::string_view line = d.span.file->line_text(d.span.line);
    std::string number = std::to_string(d.span.line);
    gutter.assign(number.size(), ' ');
    if (!line.empty()) {
      std::size_t col = std::max<uint32_t>(d.span.col, 1) - 1;  // 0-based from here on
      std::size_t length = std::max<uint32_t>(d.span.length, 1);
      // Long lines (minified YAML, generated files) are shown as a window
      // around the caret, so one diagnostic stays a few short lines.
      std::string prefix, suffix;
      if (line.size() > kMaxShownLine) {
        std::size_t start = col > kMaxShownLine / 4 ? col - kMaxShownLine / 4 : 0;
        start = std::min(start, line.size() > kMaxShownLine ? line.size() - kMaxShownLine : 0);
        if (start > 0) prefix = "...";
        if (start + kMaxShownLine < line.size()) suffix = "...";
        line = line.substr(start, kMaxShownLine);
        col = col >= start ? col - start + prefix.size() : prefix.size();
      }
      std::string shown = prefix + printable_line(line) + suffix;
      // Never underline past the end of the shown text (a span may run onto the next line).
      if (col < shown.size()) length = std::min(length, shown.size() - suffix.size() - col);
      else col = shown.size();
      length = std::max<std::size_t>(length, 1);
      out += fmt::format("{} | {}\n{} | {}{}\n", number, shown, gutter, std::string(col, ' '), std::string(length, '^'));
    }
  }
  if (!d.hint.empty()) out += fmt::format("{} = hint: {}\n", gutter, d.hint);
  return out;
}

std::string render_text(const std::vector<Diagnostic>& diagnostics, std::size_t max_shown) {
  std::string out;
  std::size_t shown = std::min(max_shown, diagnostics.size());
  for (std::size_t i = 0; i < shown; ++i) out += render_text(diagnostics[i]);
  if (diagnostics.size() > shown) out += fmt::format("and {} more (raise --max-errors to see them)\n", diagnostics.size() - shown);
  return out;
}

std::string_view describe_code(std::string_view code) {
  const DiagnosticCode* known = find_code(code);
  return known ? known->title : "diagnostic";
}

namespace {

char fold_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::string folded(b);
  std::transform(folded.begin(), folded.end(), folded.begin(), fold_ascii);
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    char letter = fold_ascii(a[i - 1]);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitution = diagonal + (letter == folded[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    // The distance is at least the difference in length: a candidate that cannot win is not scored.
    std::size_t length_gap = word.size() > candidate.size() ? word.size() - candidate.size() : candidate.size() - word.size();
    if (length_gap >= best_distance) continue;
    std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates, std::string otherwise) {
  std::string closest = closest_match(word, candidates);
  return closest.empty() ? std::move(otherwise) : fmt::format("did you mean '{}'?", closest);
}

bool check_text(const SourceRef& source, Diagnostics& diagnostics) {
  std::string_view text = source->text;
  uint32_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = utf8_length_at(text, i);
    if (length == 0) {
      diagnostics.error(code::not_text, SourceSpan{source, line, column, 1},
                        byte == 0 ? "a NUL byte: rule files are text"
                                  : fmt::format("byte 0x{:02X} is not UTF-8: rule files are UTF-8 text", byte),
                        "save the file as UTF-8 (names with other characters can be matched with a regex escape)");
      return false;
    }
    if (byte == '\n') {
      ++line;
      column = 1;
    } else {
      column += static_cast<uint32_t>(length);  // columns count bytes, as the parsers' do
    }
    i += length;
  }
  return true;
}

}  // namespace taxon
