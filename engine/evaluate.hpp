// Evaluates a Program over a whole TensorTable at once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

struct EvalOptions {
  // Reference checkpoint for `initialization` rules; null = none given.
  const ReferenceShapes* reference = nullptr;
  // Run the optimizer passes and the compiled evaluator (engine/passes/, engine/index/,
  // engine/compiled.hpp); false walks the rules as written, tensor by tensor.
  // Both give the same result.
  bool optimize = true;
  // Threads evaluation may use where a pass over many tensors splits (an aggregate's captures
  // over 16,384 tensors or more); 0: two, or one where the process may use one CPU (a Slurm task
  // given one, taskset). The result is the same.
  unsigned threads = 0;
};

struct SelectionResult {
  std::string name;
  std::vector<std::size_t> tensors;  // indices into the table, in table order
  SourceSpan span;
};

// The values of a group's computed options for one tensor.
struct TensorOptions {
  std::size_t tensor = 0;
  std::vector<std::pair<std::string, OptionValue>> values;  // null where a capture was missing
};

struct GroupResult {
  std::string name;
  std::vector<GroupOption> options;  // effective options (own, then inherited, then set rules')
  std::vector<std::size_t> tensors;  // indices into the table, in table order
  bool is_default = false;
  SourceSpan span;
  std::vector<TensorOptions> per_tensor;  // one per tensor, when an option is computed from captures
  std::string rule = {};                  // the group statement it comes from (its name)
  std::vector<std::string> set_by = {};   // the set rules that gave it options (`layer_3`, `no_decay`)
  std::vector<std::size_t> frozen = {};   // frozen parameters its filter matched and it left out
};

// A tensor that two or more groups matched.
struct Overlap {
  std::size_t tensor = 0;
  std::vector<std::size_t> groups;    // every group that matched, in file order (indices into EvalResult::groups)
  std::vector<std::size_t> assigned;  // the groups it joined
};

struct EvalResult {
  std::vector<SelectionResult> selections;  // in program order
  bool has_groups = false;
  GroupMode mode = GroupMode::first_match;
  // In program order, the default group last; a group that set rules split is one entry per
  // distinct set of options, in order of their first tensor.
  std::vector<GroupResult> groups;
  std::vector<std::string> declared_groups;  // the group statements, in program order, the default last
  std::vector<Overlap> overlaps;             // in table order
  Diagnostics diagnostics;                   // what evaluation found; never parse errors

  // The names of declared groups given by index (an Overlap's).
  std::vector<std::string> group_names(const std::vector<std::size_t>& indices) const {
    std::vector<std::string> out;
    for (std::size_t g : indices) out.push_back(declared_groups[g]);
    return out;
  }
};

EvalResult evaluate(const Program& program, const TensorTable& table, const EvalOptions& options = {});

// What the optimizer and the compiled evaluator make of a program on a table
// (`taxon eval --explain-plan`): the rules after the passes, and the
// structures built to answer them (literal tries, the DFA and its states,
// regex sets, memos), measured on this table.
struct EvaluationPlan {
  Program optimized;
  std::vector<int> costs;  // the estimated cost of each rule, selections then groups
  std::string compiled;
};
EvaluationPlan plan_evaluation(const Program& program, const TensorTable& table, const EvalOptions& options = {});

}  // namespace taxon
