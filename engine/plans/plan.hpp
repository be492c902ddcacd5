// Checkpoint plans: how a checkpoint's keys become the keys a model loads.
// The engine runs a plan over names and shapes only (what is kept, renamed,
// copied, dropped and by which rule, skipped for shape, missing, unexpected);
// the runtime then moves the bytes the result names.
#pragma once

#include <memory>
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
struct Transform {  // a tensor action on each tensor `where` selects (see engine/plans/tensor_actions.hpp)
  std::string verb, action;
  Predicate where;
  std::vector<GroupOption> options;
};
// Surgery: tensors made from several, or several from one. Patterns are RE2
// searches over whole names; templates are rename templates.
struct Split {  // one fused tensor -> parts along `dim` (qkv -> q, k, v)
  std::string pattern;
  std::vector<std::string> outputs;
  int64_t dim = 0;
  std::vector<int64_t> sizes;  // empty: the target's shapes, else equal parts
};
struct Fuse {  // parts -> one tensor along `dim`; `pattern` finds the first part, `others` name the rest
  std::string pattern;
  std::vector<std::string> others;
  std::string output;
  int64_t dim = 0;
};
struct Stack {  // per-index tensors -> one with a new `dim`, ordered by the capture (?P<index>\d+)
  std::string pattern;
  std::string output;
  int64_t dim = 0;
};
struct Unstack {  // one tensor -> one per index along `dim`, named by a template with ${index}
  std::string pattern;
  std::string output;
  int64_t dim = 0;
};
// Nested indices made one (anemoi's chunked processor: proc.C.blocks.B -> proc.N): `pattern`
// captures (?P<outer>\d+) and (?P<inner>\d+); ${index} in `replacement` is outer * K + inner,
// where K, the inner count per outer index, is the largest inner index matched plus one.
struct Renumber {
  std::string pattern;
  std::string replacement;
};
struct SkipMismatched {  // keys the target lacks are dropped; so are shape mismatches, unless they are errors
  bool mismatch_is_error = false;
};
struct Load {
  bool strict = true;
};
}  // namespace step

struct PlanStep {
  std::variant<step::Strip, step::AddPrefix, step::Rewrap, step::Drop, step::Rename, step::Transform, step::Split,
               step::Fuse, step::Stack, step::Unstack, step::Renumber, step::SkipMismatched, step::Load>
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

// How a tensor of the result is made from the input's: a tree whose leaves
// are input tensors. Subtrees are shared (a split's parts read one parent).
struct Recipe {
  enum class Op {
    input,      // the input table's row `input`
    action,     // a library action (interpolation, cast, rows) on parts[0]
    narrow,     // parts[0] narrowed: args = {dim, start, length}
    select,     // parts[0] at one index: args = {dim, index} (the dim goes away)
    concat,     // parts joined along args[0]
    stack,      // parts stacked along a new dim args[0]
    transpose,  // parts[0] with dims args[0] and args[1] swapped
    reshape,    // parts[0] with the same elements in `shape`
  };
  Op op = Op::input;
  std::size_t input = 0;
  const step::Transform* action = nullptr;
  std::vector<std::shared_ptr<const Recipe>> parts;
  std::vector<int64_t> args;
  std::vector<int64_t> shape;  // what it produces
  std::string dtype;
};
using RecipePtr = std::shared_ptr<const Recipe>;

// A tensor action as a key went through it (for reports).
struct AppliedAction {
  const step::Transform* step = nullptr;
  std::vector<int64_t> from, to;  // the shapes before and after
};

// One key of the result and where its tensor comes from.
struct PlannedKey {
  std::string name;
  std::size_t input = 0;  // the input row it comes from (a combined tensor's first part)
  bool renamed = false;   // by a rename or copy step (strip and prefix do not count)
  RecipePtr recipe;  // recipe->shape and ->dtype: what it ends up as
  std::vector<AppliedAction> actions;  // the tensor actions applied to it, in order
};

// One split, fuse, stack or unstack, for reports.
struct SurgeryRecord {
  std::string verb;
  std::vector<std::string> from, to;
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
  std::vector<Mismatch> mismatched;        // in the result and the target with different shapes, unresolved
  std::vector<std::string> missing;        // in the target, not in the result
  std::vector<std::string> unexpected;     // in the result, not in the target
  std::vector<std::string> not_in_target;  // dropped by skip mismatched because the target lacks them
  struct Stray {  // a key a step renamed or made that the target does not have
    std::string name;
    std::vector<std::string> closest;  // the target's names nearest to it that the result lacks
  };
  std::vector<Stray> strays;               // among unexpected and not_in_target
  // Names the target ties to a name the result has (embed.weight and lm_head.weight), added
  // as that tensor: PyTorch's state_dict holds both names of a tie, and a strict load wants both.
  std::vector<std::pair<std::string, std::string>> tied;  // added name -> the name it shares

  std::vector<SurgeryRecord> surgery;      // in step order
  std::vector<const step::Transform*> transforms;  // to carry out, in order
  bool strict = true;
  // With a target: would PyTorch's load_state_dict(strict) accept the result?
  // One verdict for `apply --dry-run`, `apply` and the trainer API.
  struct Verdict {
    bool load_fails = false;
    std::size_t loaded = 0;            // keys the target takes as they are
    std::vector<std::string> reasons;  // why it fails, one line each
    std::string hint;                  // what to change, computed from the names
  } verdict;
  Diagnostics diagnostics;  // collisions and other errors stop the plan
};

// What is wrong with a rename template for `pattern`, if anything: a $N
// beyond the regex's groups, a ${name} no group is named, arithmetic that is
// not ${name+N} / ${name-N}. Empty when it is fine, or the regex itself does
// not compile (that is reported on its own).
struct TemplateProblem {
  std::string message, hint;
};
// `supplied` names what the step itself provides (unstack's ${index}).
std::optional<TemplateProblem> template_problem(const std::string& pattern, const std::string& replacement,
                                                const std::vector<std::string>& supplied = {});

// Runs `plan` over the tensors of `input` (their names and shapes); with a
// target, also reports what a load would find missing or unexpected.
// `labels` (optional, one per input row) name keys in messages, e.g. with
// the file they come from when several checkpoints are merged.
PlanResult run_plan(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
                    const std::vector<std::string>& labels = {});

// Fills `result`'s missing, unexpected, mismatched, strays and verdict from its
// keys and the target, as PyTorch's load_state_dict would judge them: a shape
// mismatch fails whatever `strict` says, and so does loading nothing at all.
// `made` lists the keys a rename or surgery step produced (for strays); run_plan calls it.
void judge_load(PlanResult& result, const TensorTable& target, const std::vector<std::string>& made);

}  // namespace taxon
