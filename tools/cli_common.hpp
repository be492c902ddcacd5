// What every subcommand shares: exit codes, output formats, diagnostics on stderr.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plans/plan.hpp"
#include "engine/tensor_table.hpp"
#include "api/report_json.hpp"
#include "runtime/rules_file.hpp"

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

// A rule file lowered to the IR. Front-end errors mean the rules must not run.
// The reference model dump for `initialization`/`new` rules; nullopt when
// `path` is empty. Pass `&*reference` (or null) as EvalOptions::reference.
std::optional<ReferenceShapes> load_reference(const std::string& path);



}  // namespace taxon::cli
