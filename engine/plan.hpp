// Checkpoint plans: how a checkpoint's keys become the keys a model loads.
// The engine runs a plan over names and shapes only (what is kept, renamed,
// copied, dropped and by which rule, skipped for shape, missing, unexpected);
// the runtime then moves the bytes the result names.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/diagnostic.hpp"
#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

namespace step {
struct Strip {  // remove a leading prefix where present
  std::string prefix;
};
struct AddPrefix {
  std::string prefix;
};
struct Drop {  // remove what matches (keep = drop what does not)
  Predicate predicate;
  bool keep = false;
  std::string rule;  // as written, for reports
};
struct Rename {  // RE2 search and replace; `copy` keeps the original too
  std::string pattern;
  std::string replacement;  // $1..$9, ${name}, ${name+N}, ${name-N} (index arithmetic)
  bool copy = false;
};
struct Rewrap {  // add the prefix back when every key of the target carries it (linnaeus: a wrapped model)
  std::string prefix;
};
struct Transform {  // a tensor action (interpolation, casts): carried out by the stdlib
  std::string verb, action;
  Predicate where;
  std::vector<GroupOption> options;
};
struct SkipMismatched {  // keys the target lacks are dropped; so are shape mismatches, unless they are errors
  bool mismatch_is_error = false;
};
struct Load {
  bool strict = true;
};
}  // namespace step

struct PlanStep {
  std::variant<step::Strip, step::AddPrefix, step::Rewrap, step::Drop, step::Rename, step::Transform, step::SkipMismatched,
               step::Load>
      step;
  SourceSpan span;
};

struct CheckpointPlan {
  std::string name;
  std::optional<std::string> checkpoint_path;  // a source the rules name themselves (anemoi configs)
  // Where the state dict sits in each source (first found wins; "" is the root).
  std::vector<std::string> sources;
  std::vector<PlanStep> steps;
  SourceSpan span;
};

// One key of the result and where its tensor comes from.
struct PlannedKey {
  std::string name;
  std::size_t input = 0;  // index into the input table
  bool renamed = false;   // by a rename or copy step (strip and prefix do not count)
  // Tensor actions to run on it, in order, each with the shape it must produce.
  std::vector<std::pair<const step::Transform*, std::vector<int64_t>>> actions;
  std::vector<int64_t> shape;  // after the actions
};

struct PlanResult {
  std::vector<PlannedKey> keys;  // the output, in input order (copies after their originals)
  std::vector<std::pair<std::string, std::size_t>> prefix_steps;  // `strip "module."` -> keys it changed
  std::vector<std::pair<std::string, std::string>> renamed;  // old -> new (rename steps)
  std::vector<std::pair<std::string, std::string>> copied;   // from -> to
  std::vector<std::pair<std::string, std::string>> dropped;  // name -> the rule that dropped it
  struct Mismatch {
    std::string name;
    std::vector<int64_t> source_shape, target_shape;
  };
  std::vector<Mismatch> skipped;           // skip mismatched: shape differs from the target
  std::vector<std::string> missing;        // in the target, not in the result
  std::vector<std::string> unexpected;     // in the result, not in the target
  std::vector<std::string> not_in_target;  // dropped by skip mismatched because the target lacks them
  std::vector<const step::Transform*> transforms;  // to carry out, in order
  bool strict = true;
  bool strict_load_fails = false;  // with a target: a strict load would fail
  Diagnostics diagnostics;         // collisions and other errors stop the plan
};

// Runs `plan` over the tensors of `input` (their names and shapes); with a
// target, also reports what a load would find missing or unexpected.
// `labels` (optional, one per input row) name keys in messages, e.g. with
// the file they come from when several checkpoints are merged.
PlanResult run_plan(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
                    const std::vector<std::string>& labels = {});

}  // namespace taxon
