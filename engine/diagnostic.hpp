// Diagnostics: every finding carries a stable code (engine/diagnostic_codes.hpp), a span, a
// message and a hint, and renders like clang/rustc (header, source line, caret, hint).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/diagnostic_codes.hpp"
#include "engine/source.hpp"

namespace taxon {

struct Diagnostic {
  std::string code;  // a registered code (engine/diagnostic_codes.hpp)
  Severity severity = Severity::error;
  SourceSpan span;
  std::string message;
  std::string hint;  // how to fix it; may be empty for notes
  // The first line of the statement it concerns, when that is not the span's: a `# taxon: allow`
  // there covers it too, wherever `taxon fmt` puts the statement's parts.
  uint32_t statement_line = 0;
};

// Collects diagnostics in the order they are found.
class Diagnostics {
 public:
  // Keeps one of each finding at each place: YAML aliases and inlined bindings visit one node many times.
  // A code missing from the registry is a bug in taxon: InternalError.
  void report(Diagnostic diagnostic);
  void error(std::string_view code, SourceSpan span, std::string message, std::string hint = {});
  void warning(std::string_view code, SourceSpan span, std::string message, std::string hint = {});
  void note(std::string_view code, SourceSpan span, std::string message, std::string hint = {});

  const std::vector<Diagnostic>& items() const { return items_; }
  std::size_t count(Severity severity) const;
  bool has_errors() const { return count(Severity::error) > 0; }
  void append(const Diagnostics& other);

 private:
  std::vector<Diagnostic> items_;
  std::unordered_set<std::string> seen_;  // code, place and message of each item
};

// Rule files are UTF-8 text: reports T0105 at the first byte that is not (or a NUL) and returns
// false. Front ends check before parsing, so no later message quotes a broken byte.
bool check_text(const SourceRef& source, Diagnostics& diagnostics);

// How many tests and filter nodes a rule file may expand to once bindings are inlined and YAML
// aliases followed: far beyond any real file, well below what would exhaust memory (T0106).
inline constexpr std::size_t kMaxExpandedNodes = 20'000;

// Renders one diagnostic for a terminal:
//   error[T0201]: rules.yaml:4:11: unknown filter TYPE 'nmae'
//   4 |     TYPE: nmae
//     |           ^^^^
//     = hint: did you mean 'name'?
std::string render_text(const Diagnostic& diagnostic);

// Renders a list, at most `max_shown` of them, then "and N more".
std::string render_text(const std::vector<Diagnostic>& diagnostics, std::size_t max_shown);

// One line on what a code means: its registered title (SARIF's rule descriptions, docs/diagnostics.md).
std::string_view describe_code(std::string_view code);

// Levenshtein distance, ignoring ASCII case.
std::size_t edit_distance(std::string_view a, std::string_view b);

// "did you mean 'x'?" support: the closest candidate within a small edit
// distance, or empty.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" when a candidate is close, else `otherwise`.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates, std::string otherwise);

}  // namespace taxon
