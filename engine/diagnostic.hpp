// Diagnostics: every finding carries a stable code, a span, a message and a
// hint, and renders like clang/rustc (header, source line, caret, hint).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/source.hpp"

namespace taxon {

enum class Severity { note, warning, error };

std::string_view severity_name(Severity severity);

// Stable diagnostic codes; docs/diagnostics.md explains each one.
namespace code {
// T00xx: the command line.
inline constexpr std::string_view usage = "T0001";
// T01xx: the rule file's syntax.
inline constexpr std::string_view yaml_syntax = "T0101";
inline constexpr std::string_view syntax_error = "T0102";
inline constexpr std::string_view unterminated_literal = "T0103";
inline constexpr std::string_view nesting_too_deep = "T0104";
inline constexpr std::string_view not_text = "T0105";
inline constexpr std::string_view expands_too_far = "T0106";
// T011x: the meaning of taxon language source.
inline constexpr std::string_view unknown_identifier = "T0111";
inline constexpr std::string_view bad_operator = "T0112";
inline constexpr std::string_view bad_value = "T0113";
inline constexpr std::string_view unknown_capture = "T0114";
inline constexpr std::string_view import_failed = "T0115";
inline constexpr std::string_view import_cycle = "T0116";
// T02xx: the rule file's structure.
inline constexpr std::string_view unknown_filter_type = "T0201";
inline constexpr std::string_view unknown_match_type = "T0202";
inline constexpr std::string_view missing_key = "T0203";
inline constexpr std::string_view wrong_value_type = "T0204";
inline constexpr std::string_view unknown_key = "T0205";
inline constexpr std::string_view unrecognised_document = "T0206";
inline constexpr std::string_view duplicate_name = "T0207";
inline constexpr std::string_view default_applied = "T0208";
inline constexpr std::string_view ignored_key = "T0209";
inline constexpr std::string_view not_convertible = "T0210";
// T03xx: patterns.
inline constexpr std::string_view invalid_regex = "T0301";
inline constexpr std::string_view python_only_regex = "T0302";
// T04xx: what a rule needs from the tensors it is evaluated on.
inline constexpr std::string_view needs_module_types = "T0401";
inline constexpr std::string_view needs_tensor_kinds = "T0406";
inline constexpr std::string_view no_reference = "T0402";
inline constexpr std::string_view no_stage_map = "T0403";
inline constexpr std::string_view unknown_module = "T0404";
inline constexpr std::string_view capture_not_number = "T0405";
// T08xx: checkpoint plans.
inline constexpr std::string_view plan_collision = "T0801";
inline constexpr std::string_view unknown_action = "T0802";
inline constexpr std::string_view plan_load_fails = "T0803";
inline constexpr std::string_view plan_shape_mismatch = "T0804";
inline constexpr std::string_view plan_template = "T0805";
inline constexpr std::string_view plan_no_target_shape = "T0806";
inline constexpr std::string_view action_failed = "T0807";
inline constexpr std::string_view plan_surgery = "T0808";
inline constexpr std::string_view unknown_target = "T0211";
// T07xx: lint findings (taxon lint).
inline constexpr std::string_view unused_binding = "T0701";
inline constexpr std::string_view shadowed_binding = "T0702";
inline constexpr std::string_view always_true = "T0703";
inline constexpr std::string_view always_false = "T0704";
inline constexpr std::string_view redundant_pattern = "T0705";
inline constexpr std::string_view trailing_dot_regex = "T0706";
inline constexpr std::string_view backtracking_regex = "T0707";
inline constexpr std::string_view shadowed_pattern = "T0708";
inline constexpr std::string_view shadowed_group = "T0709";
// T05xx: what evaluation found.
inline constexpr std::string_view group_overlap = "T0501";
inline constexpr std::string_view matches_nothing = "T0502";
inline constexpr std::string_view falls_to_default = "T0503";
inline constexpr std::string_view groups_disabled = "T0504";
}  // namespace code

struct Diagnostic {
  std::string code;
  Severity severity = Severity::error;
  SourceSpan span;
  std::string message;
  std::string hint;  // how to fix it; may be empty for notes
};

// Collects diagnostics in the order they are found.
class Diagnostics {
 public:
  // Keeps one of each finding at each place: YAML aliases and inlined bindings visit one node many times.
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

// One line on what a code means (SARIF's rule descriptions, docs/diagnostics.md).
std::string_view describe_code(std::string_view code);

// Levenshtein distance, ignoring ASCII case.
std::size_t edit_distance(std::string_view a, std::string_view b);

// "did you mean 'x'?" support: the closest candidate within a small edit
// distance, or empty.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" when a candidate is close, else `otherwise`.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates, std::string otherwise);

}  // namespace taxon
