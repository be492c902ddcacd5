// The one registry of diagnostic codes. Every code taxon reports is listed here once, with the
// severity it is reported with, its title and where docs/diagnostics.md documents it; the
// `code::` constants, `Diagnostics`, `InputError`, `describe_code` and SARIF's rule descriptions
// all take their codes from it, and tests/cli/codes_test.cpp holds docs/diagnostics.md to it.
// Header only and free of dependencies, so that a test can read it without linking taxon.
#pragma once

#include <cstddef>
#include <string_view>

namespace taxon {

enum class Severity { note, warning, error };

constexpr std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::note: return "note";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "error";
}

// TAXON_DIAGNOSTIC_CODES(X) calls X(code, name, severity, title) once per code, in the order of the codes.
//   code      "T" and four digits; stable once released (a code is never reused for another meaning)
//   name      the C++ constant: code::name
//   severity  what it is reported as (a few are raised by context: T0501 is an error to lint in overlap mode)
//   title     one line, plain text: SARIF's rule description, and the title column of docs/diagnostics.md
// The ranges: T00xx the command line; T01xx a rule file's syntax and names; T02xx its structure;
// T03xx patterns; T04xx what rules need from the tensors; T05xx what evaluation found; T06xx files
// and what taxon needs to run; T07xx lint; T08xx checkpoint plans.
#define TAXON_DIAGNOSTIC_CODES(X)                                                                                   \
  X(T0001, usage, error, "command-line usage")                                                                     \
  X(T0101, yaml_syntax, error, "YAML syntax error")                                                                \
  X(T0102, syntax_error, error, "syntax error in a .tx file")                                                      \
  X(T0103, unterminated_literal, error, "unterminated string or regex")                                            \
  X(T0104, nesting_too_deep, error, "nesting too deep")                                                            \
  X(T0105, not_text, error, "not UTF-8 text")                                                                      \
  X(T0106, expands_too_far, error, "rules that expand too far (bindings or YAML aliases repeating each other)")     \
  X(T0111, unknown_identifier, error, "unknown name")                                                              \
  X(T0112, bad_operator, error, "an operator that does not apply to the field")                                    \
  X(T0113, bad_value, error, "an invalid value (dtype, kind, rank, shape, regex where text belongs)")              \
  X(T0114, unknown_capture, error, "an option uses a capture the group's regexes do not define")                   \
  X(T0115, import_failed, error, "an import that cannot be read")                                                  \
  X(T0116, import_cycle, error, "an import cycle")                                                                 \
  X(T0117, unknown_parameter, error, "a parameter the rule file does not declare")                                \
  X(T0201, unknown_filter_type, error, "unknown filter TYPE")                                                      \
  X(T0202, unknown_match_type, error, "unknown MATCH_TYPE")                                                        \
  X(T0203, missing_key, error, "a required key is missing")                                                        \
  X(T0204, wrong_value_type, error, "a value of the wrong type")                                                   \
  X(T0205, unknown_key, warning, "an unknown key, ignored")                                                        \
  X(T0206, unrecognised_document, error, "neither a filter tree nor a config taxon understands")                   \
  X(T0207, duplicate_name, error, "a name defined twice")                                                          \
  X(T0208, default_applied, note, "a linnaeus default was applied")                                                \
  X(T0209, ignored_key, warning, "a key that has no effect")                                                       \
  X(T0210, not_convertible, warning, "a value the taxon language cannot write")                                    \
  X(T0211, unknown_target, error, "an unknown anemoi _target_")                                                    \
  X(T0212, unknown_option, warning, "an option key no optimizer taxon knows reads")                               \
  X(T0213, remote_source, warning, "a remote checkpoint source, which taxon does not fetch")                       \
  X(T0214, unresolved_source, warning, "a checkpoint source whose path the file does not give")                     \
  X(T0215, mixed_generations, error, "anemoi's legacy keys and its checkpoint pipeline in one config")            \
  X(T0301, invalid_regex, error, "invalid regex")                                                                  \
  X(T0302, python_only_regex, error, "a Python-only regex construct")                                              \
  X(T0401, needs_module_types, error, "a rule needs module types and the tensors have none")                       \
  X(T0402, no_reference, warning, "initialization without a reference")                                            \
  X(T0403, no_stage_map, warning, "stage_based without a stage map")                                               \
  X(T0404, unknown_module, error, "a module path that names no module")                                            \
  X(T0405, capture_not_number, error, "a computed option whose capture is not a number")                           \
  X(T0406, needs_tensor_kinds, error, "a rule on parameter/buffer kinds, and the tensors come from a checkpoint")   \
  X(T0407, unknown_module_type, error, "a type test naming no class the model's modules are or inherit from")     \
  X(T0408, empty_aggregate, error, "an aggregate (max, min) over no tensor")                                        \
  X(T0501, group_overlap, warning, "tensors matched by several groups")                                            \
  X(T0502, matches_nothing, warning, "a rule that matches nothing")                                                \
  X(T0503, falls_to_default, warning, "trainable parameters fall through to the default group")                    \
  X(T0504, groups_disabled, note, "parameter groups disabled")                                                     \
  X(T0601, unreadable_file, error, "a file cannot be read")                                                        \
  X(T0602, malformed_dump, error, "a malformed model dump")                                                        \
  X(T0603, unsupported_input, error, "an unsupported kind of input")                                               \
  X(T0604, unwritable_output, error, "an output cannot be written")                                                \
  X(T0605, no_such_tensor, error, "no such tensor")                                                                \
  X(T0606, corrupt_checkpoint, error, "a corrupt checkpoint")                                                      \
  X(T0607, forbidden_global, error, "a pickled global outside the allow-list")                                     \
  X(T0608, no_state_dict, error, "no state dict where one was looked for")                                         \
  X(T0609, no_plan, error, "no such plan")                                                                         \
  X(T0610, actions_library, error, "the tensor actions library cannot be loaded")                                  \
  X(T0701, unused_binding, warning, "unused binding")                                                              \
  X(T0702, shadowed_binding, warning, "shadowed binding")                                                          \
  X(T0703, always_true, warning, "a rule that is always true")                                                     \
  X(T0704, always_false, warning, "a rule that can never match")                                                   \
  X(T0705, redundant_pattern, warning, "a redundant pattern")                                                      \
  X(T0706, trailing_dot_regex, warning, "a regex whose final '.' matches any character")                           \
  X(T0707, backtracking_regex, warning, "a regex that backtracks exponentially in Python")                         \
  X(T0708, shadowed_pattern, warning, "literal patterns covered by an earlier group")                              \
  X(T0709, shadowed_group, warning, "a group fully shadowed by earlier groups")                                    \
  X(T0710, dead_alternative, warning, "an alternative of a filter that matches nothing while the others match")   \
  X(T0711, split_role, warning, "tensors of one role (owner class and name) given different weight decays")       \
  X(T0712, frozen_in_group, warning, "a group's filter names frozen parameters, which the group leaves out")      \
  X(T0801, plan_collision, error, "two tensors under one key")                                                     \
  X(T0802, unknown_action, error, "no such tensor action, or an option it does not take")                          \
  X(T0803, plan_load_fails, error,                                                                                 \
    "the load would fail: a shape mismatch, nothing loaded, or missing/unexpected keys under strict")              \
  X(T0804, plan_shape_mismatch, error, "a shape mismatch that is not skipped")                                     \
  X(T0805, plan_template, error, "a rename template that cannot be rendered")                                      \
  X(T0806, plan_no_target_shape, error, "a resizing action without a shape to produce")                            \
  X(T0807, action_failed, error, "a tensor action failed")                                                         \
  X(T0808, plan_surgery, error, "a tensor action, split, fuse or stack does not fit the tensors")

// One registered code.
struct DiagnosticCode {
  std::string_view id;        // "T0201"
  std::string_view name;      // "unknown_filter_type": code::unknown_filter_type
  Severity severity;          // as reported (see above for the few raised by context)
  std::string_view title;     // one line, plain text
  std::string_view doc;       // "docs/diagnostics.md#T0201": the row that documents it
};

#define TAXON_DIAGNOSTIC_ENTRY(code, name, severity, title) \
  DiagnosticCode{#code, #name, Severity::severity, title, "docs/diagnostics.md#" #code},
inline constexpr DiagnosticCode kDiagnosticCodes[] = {TAXON_DIAGNOSTIC_CODES(TAXON_DIAGNOSTIC_ENTRY)};
#undef TAXON_DIAGNOSTIC_ENTRY

// The constants code elsewhere names codes by: code::unknown_filter_type is "T0201".
namespace code {
#define TAXON_DIAGNOSTIC_CONSTANT(code, name, severity, title) inline constexpr std::string_view name = #code;
TAXON_DIAGNOSTIC_CODES(TAXON_DIAGNOSTIC_CONSTANT)
#undef TAXON_DIAGNOSTIC_CONSTANT
}  // namespace code

namespace detail {
constexpr bool well_formed_and_ascending() {
  std::string_view previous;
  for (const auto& entry : kDiagnosticCodes) {
    if (entry.id.size() != 5 || entry.id[0] != 'T') return false;
    for (char digit : entry.id.substr(1))
      if (digit < '0' || digit > '9') return false;
    if (!(previous < entry.id) || entry.title.empty()) return false;
    previous = entry.id;
  }
  return true;
}
}  // namespace detail
static_assert(detail::well_formed_and_ascending(), "diagnostic codes are T + 4 digits, listed once each, in ascending order");

// The index of the registered code `id` in kDiagnosticCodes, or its size when there is none.
constexpr std::size_t code_index(std::string_view id) {
  std::size_t low = 0, high = std::size(kDiagnosticCodes);
  while (low < high) {
    std::size_t middle = (low + high) / 2;
    if (kDiagnosticCodes[middle].id < id) low = middle + 1;
    else high = middle;
  }
  return low < std::size(kDiagnosticCodes) && kDiagnosticCodes[low].id == id ? low : std::size(kDiagnosticCodes);
}

// The registered code `id`, or nullptr.
constexpr const DiagnosticCode* find_code(std::string_view id) {
  std::size_t index = code_index(id);
  return index < std::size(kDiagnosticCodes) ? &kDiagnosticCodes[index] : nullptr;
}

// Indices, not pointers: GCC cannot compare the table's addresses in a constant expression under
// -fsanitize=undefined (the asan preset).
static_assert(code_index(code::usage) == 0 && code_index(code::plan_surgery) < std::size(kDiagnosticCodes) &&
              code_index("T0000") == std::size(kDiagnosticCodes) && code_index("T9999") == std::size(kDiagnosticCodes));

}  // namespace taxon
