// What every subcommand shares: exit codes, output formats, diagnostics on stderr.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plan.hpp"
#include "engine/tensor_table.hpp"
#include "grammar/tx_ast.hpp"

namespace taxon::cli {

// docs/cli.md: scripts rely on these.
enum ExitCode : int {
  kDone = 0,       // done; nothing at error level
  kAnswerNo = 1,   // done, and the answer is "no" (e.g. an error-level rule diagnostic stands)
  kCouldNot = 2,   // could not do the job: usage, unreadable or invalid input, unwritable output
};

enum class Format { text, json };

struct CommonOptions {
  Format format = Format::text;
  std::size_t max_errors = 5;
};

// Prints diagnostics to stderr, at most `max_errors`, then "and N more".
void print_diagnostics(const std::vector<Diagnostic>& diagnostics, std::size_t max_errors);

nlohmann::ordered_json to_json(const Diagnostic& diagnostic);
nlohmann::ordered_json to_json(const OptionValue& value);

// A rule file lowered to the IR. Front-end errors mean the rules must not run.
struct LoadedRules {
  SourceRef source;
  Program program;
  Diagnostics diagnostics;
  Diagnostics lint;                 // findings only `taxon lint` reports
  std::vector<tx::Plan> plans;      // checkpoint plans as written (taxon language only)
  std::vector<CheckpointPlan> checkpoint_plans;
  bool is_yaml = false;
};

// The reference model dump for `initialization`/`new` rules; nullopt when
// `path` is empty. Pass `&*reference` (or null) as EvalOptions::reference.
std::optional<ReferenceShapes> load_reference(const std::string& path);

// Where `import "x.tx"` looks: next to the importing file, then in taxon's
// stdlib/ ($TAXON_STDLIB overrides the built-in location).
SourceRef resolve_import(const std::string& path, const SourceFile& from, std::string& error);

// Reads and lowers a rule file, choosing the front end by its extension.
// Throws InputError when the file cannot be read or has an unknown kind.
LoadedRules load_rules(const std::string& path);

}  // namespace taxon::cli
