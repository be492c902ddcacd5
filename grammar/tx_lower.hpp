// The taxon language's syntax tree -> the rule IR (engine/ir.hpp): bindings
// inlined, tests type-checked, option values typed, imports resolved.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/plans/plan.hpp"
#include "grammar/tx_ast.hpp"

namespace taxon::tx {

// Finds and reads an imported file named in `from`; null (and `error` set)
// when it cannot. The engine reads no files: the caller decides where from.
using ImportResolver = std::function<SourceRef(const std::string& path, const SourceFile& from, std::string& error)>;

struct Lowered {
  Program program;
  std::vector<Plan> plans;                       // checkpoint plans as written (for fmt and reports)
  std::vector<CheckpointPlan> checkpoint_plans;  // the same, lowered, for `taxon apply`
  Diagnostics lint;         // findings that only `taxon lint` reports (unused or shadowed bindings)
};

// Lowers `file` (and what it imports). Errors go to `diagnostics`; a program
// returned alongside errors must not be evaluated.
// `parameters` set the root file's `param`s by name (`--param decay=0.75`): each value is read as
// the language reads one, and is a string where it does not read as one.
using Parameters = std::vector<std::pair<std::string, std::string>>;
Lowered lower(const File& file, Diagnostics& diagnostics, const ImportResolver& resolve = {},
              const Parameters& parameters = {});

// Parses and lowers source text in one step.
Lowered parse_and_lower(const SourceRef& source, Diagnostics& diagnostics, const ImportResolver& resolve = {},
                        const Parameters& parameters = {});

// PyTorch's dtype name for a spelling the language accepts (fp16 -> float16,
// BF16 -> bfloat16), or empty when it names no dtype.
std::string canonical_dtype(std::string_view spelling);

}  // namespace taxon::tx
