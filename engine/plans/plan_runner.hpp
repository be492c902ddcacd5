// Internal to run_plan: the state a plan's steps share. Key steps (strip,
// rename, drop, ...) live in plan.cpp; the steps that make tensors (actions,
// split, fuse, stack, unstack) in plan_surgery.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "engine/plans/plan.hpp"

namespace taxon::detail {

struct Entry {
  std::string name;
  std::size_t input;  // the input row it comes from (a combined tensor's first part)
  bool renamed = false;
  RecipePtr recipe;
  std::vector<AppliedAction> actions;
  std::optional<std::string> previous = std::nullopt;  // its name before the current step; unset when the step made it
};

std::shared_ptr<Recipe> make_recipe(Recipe::Op op, std::vector<RecipePtr> parts, std::vector<int64_t> args, std::vector<int64_t> shape,
                      std::string dtype);

// Renders a rename template for one match: $1..$9 are numbered captures,
// ${name} a named one, ${name+N} / ${name-N} a numeric one shifted by N.
// Empty on a capture the regex lacks or arithmetic on a non-number.
std::optional<std::string> render(const std::string& replacement, const RE2& re, const std::vector<re2::StringPiece>& groups);
// `text` with every `from` replaced by `to` (a template's ${index}).
std::string replace_all(std::string text, std::string_view from, std::string_view to);

class PlanRunner {
 public:
  PlanRunner(const CheckpointPlan& plan, const TensorTable& input, const TensorTable* target,
             const std::vector<std::string>& labels);
  PlanResult run();

 private:
  void apply(const step::Strip& s, const SourceSpan& span);
  void apply(const step::AddPrefix& s, const SourceSpan& span);
  void apply(const step::Rewrap& s, const SourceSpan& span);
  void apply(const step::Drop& s, const SourceSpan& span);
  void apply(const step::Rename& s, const SourceSpan& span);
  void apply(const step::Renumber& s, const SourceSpan& span);
  void apply(const step::SkipMismatched& s, const SourceSpan& span);
  void apply(const step::Load& s, const SourceSpan& span);
  // plan_surgery.cpp
  void apply(const step::Transform& s, const SourceSpan& span);
  void apply(const step::Split& s, const SourceSpan& span);
  void apply(const step::Fuse& s, const SourceSpan& span);
  void apply(const step::Stack& s, const SourceSpan& span);
  void apply(const step::Unstack& s, const SourceSpan& span);

  // The entries a predicate selects; its errors stop the plan.
  std::vector<std::size_t> select(const Predicate& predicate, const SourceSpan& span);
  std::shared_ptr<const RE2> regex(const std::string& pattern, const SourceSpan& span);
  // The name an entry gets from a template for the regex's match in it, or an error (T0805).
  std::optional<std::string> rendered_name(const Entry& entry, const std::string& replacement, const RE2& re,
                                           const std::vector<re2::StringPiece>& groups, const SourceSpan& span);
  const TensorRecord* target_of(const std::string& name) const;
  void surgery_error(const SourceSpan& span, std::string message, std::string hint = {});
  // Replaces entries by what a surgery step made of them: `made[i]` takes the
  // place of the first of the entries it consumed; consumed entries go.
  void replace(const std::vector<std::vector<std::size_t>>& consumed, std::vector<std::vector<Entry>> made);
  void snapshot();
  void check_collisions(const SourceSpan& span, bool final_check);
  void complete_ties();
  std::string label(const Entry& entry) const;

  const CheckpointPlan& plan_;
  const TensorTable& input_;
  const TensorTable* target_;
  const std::vector<std::string>& labels_;
  std::vector<Entry> entries_;
  std::map<std::string, const TensorRecord*> target_by_name_;
  std::vector<std::string> made_away_;  // keys a step renamed or made that skip mismatched dropped
  PlanResult result_;
};

}  // namespace taxon::detail
