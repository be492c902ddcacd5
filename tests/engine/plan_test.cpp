// The plan executor over names and shapes: every step, collisions, and what
// a load into the target would find.
#include <doctest/doctest.h>

#include "engine/plan.hpp"

using namespace taxon;

namespace {

TensorRecord tensor(std::string name, std::vector<int64_t> shape) {
  TensorRecord record;
  record.name = std::move(name);
  record.shape = std::move(shape);
  record.dtype = "float32";
  return record;
}

TensorTable table(std::vector<TensorRecord> tensors) {
  TensorTable out;
  out.tensors = std::move(tensors);
  return out;
}

PlanStep make(decltype(PlanStep::step) s) { return PlanStep{std::move(s), {}}; }

std::vector<std::string> names(const PlanResult& result) {
  std::vector<std::string> out;
  for (const auto& key : result.keys) out.push_back(key.name);
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("strip - drop - rename with captures - copy - in order") {
  TensorTable input = table({tensor("module.blocks.0.w", {4}), tensor("module.blocks.1.w", {4}), tensor("module.head.w", {2}),
                             tensor("module.cls", {1})});
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Strip{"module."}));
  plan.steps.push_back(make(step::Drop{Predicate{StringMatch{StringField::name, MatchOp::starts, {"head."}}, {}}, false, "drop head"}));
  plan.steps.push_back(make(step::Rename{R"(^blocks\.(\d+)\.)", "stages.2.$1.", false}));
  plan.steps.push_back(make(step::Rename{"^cls$", "cls_2", true}));
  PlanResult result = run_plan(plan, input, nullptr);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  CHECK(names(result) == Names{"stages.2.0.w", "stages.2.1.w", "cls", "cls_2"});
  CHECK(result.dropped == std::vector<std::pair<std::string, std::string>>{{"module.head.w", "drop head"}});
  CHECK(result.renamed.size() == 2);
  CHECK(result.copied == std::vector<std::pair<std::string, std::string>>{{"cls", "cls_2"}});
  CHECK(result.keys[3].input == 3);  // the copy reads the same tensor
  CHECK(result.prefix_steps.front().second == 4);
}

TEST_CASE("keep drops everything else") {
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Drop{Predicate{RankIn{{2}}, {}}, true, "keep rank == 2"}));
  PlanResult result = run_plan(plan, table({tensor("a", {2, 2}), tensor("b", {2})}), nullptr);
  CHECK(names(result) == Names{"a"});
}

TEST_CASE("two keys onto one name is an error - never an overwrite") {
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Rename{R"(\.(weight|bias)$)", ".p", false}));
  PlanResult result = run_plan(plan, table({tensor("x.weight", {2}), tensor("x.bias", {2})}), nullptr);
  REQUIRE(result.diagnostics.has_errors());
  CHECK(result.diagnostics.items()[0].code == code::plan_collision);
  CHECK(result.keys.empty());
}

TEST_CASE("merged inputs may share keys until a step tells them apart") {
  TensorTable input = table({tensor("norm.w", {4}), tensor("norm.w", {8}), tensor("other", {1})});
  CheckpointPlan plan;
  PlanResult clash = run_plan(plan, input, nullptr, {"norm.w (in a)", "norm.w (in b)", "other (in b)"});
  REQUIRE(clash.diagnostics.has_errors());
  CHECK(clash.diagnostics.items()[0].message.find("norm.w (in a) and norm.w (in b)") != std::string::npos);
  plan.steps.push_back(make(step::Drop{Predicate{ShapeIs{{8}}, {}}, false, "drop shape == [8]"}));
  CHECK_FALSE(run_plan(plan, input, nullptr).diagnostics.has_errors());
}

TEST_CASE("skip mismatched - missing and unexpected against a target") {
  TensorTable input = table({tensor("embed", {100, 8}), tensor("w", {8, 8}), tensor("extra", {3})});
  TensorRecord index = tensor("rel_index", {49});
  index.kind = TensorKind::buffer;
  index.persistent = false;  // a strict load ignores it
  TensorRecord tied = tensor("lm_head", {120, 8});
  tied.tied_to = 0;
  TensorTable target = table({tensor("embed", {120, 8}), tensor("w", {8, 8}), index, tied});

  CheckpointPlan plan;
  plan.steps.push_back(make(step::SkipMismatched{}));
  plan.steps.push_back(make(step::Load{false}));
  PlanResult result = run_plan(plan, input, &target);
  CHECK(names(result) == Names{"w"});
  REQUIRE(result.skipped.size() == 1);
  CHECK(result.skipped[0].source_shape == std::vector<int64_t>{100, 8});
  CHECK(result.not_in_target == Names{"extra"});
  CHECK(result.missing == Names{"embed", "lm_head"});  // lm_head's partner is missing too
  CHECK_FALSE(result.verdict.load_fails);              // strict = false

  CheckpointPlan strict;
  PlanResult loaded = run_plan(strict, table({tensor("embed", {120, 8}), tensor("w", {8, 8})}), &target);
  CHECK(loaded.missing.empty());  // lm_head is tied to embed, which is present; the index is not persistent
  CHECK_FALSE(loaded.verdict.load_fails);
}

TEST_CASE("rename templates: named captures and index arithmetic") {
  TensorTable input = table({tensor("blocks.0.w", {4}), tensor("blocks.2.w", {4}), tensor("blocks.3.w", {4})});
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Rename{R"(^blocks\.(?P<i>[0-1])\.)", "stages.2.${i}.", false}));
  plan.steps.push_back(make(step::Rename{R"(^blocks\.(?P<i>[2-3])\.)", "stages.3.${i-2}.", false}));
  PlanResult result = run_plan(plan, input, nullptr);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  CHECK(names(result) == Names{"stages.2.0.w", "stages.3.0.w", "stages.3.1.w"});

  CheckpointPlan bad;
  bad.steps.push_back(make(step::Rename{R"(^blocks\.(?P<i>\w+)\.)", "x.${j+1}.", false}));
  CHECK(run_plan(bad, input, nullptr).diagnostics.items().at(0).code == code::plan_template);
}

TEST_CASE("rewrap adds the prefix back only for a wrapped target") {
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Strip{"module."}));
  plan.steps.push_back(make(step::Rewrap{"module."}));
  TensorTable input = table({tensor("module.w", {2}), tensor("b", {2})});
  TensorTable wrapped = table({tensor("module.w", {2}), tensor("module.b", {2})});
  TensorTable bare = table({tensor("w", {2}), tensor("b", {2})});
  CHECK(names(run_plan(plan, input, &wrapped)) == Names{"module.w", "module.b"});
  CHECK(names(run_plan(plan, input, &bare)) == Names{"w", "b"});
  CHECK(names(run_plan(plan, input, nullptr)) == Names{"w", "b"});
}

TEST_CASE("an empty replacement removes nested FSDP wrappers - one level per step") {
  CheckpointPlan plan;
  for (int i = 0; i < 3; ++i) plan.steps.push_back(make(step::Rename{R"(_fsdp_wrapped_module\.)", "", false}));
  TensorTable input = table({tensor("_fsdp_wrapped_module.layers.0._fsdp_wrapped_module.attn.w", {2}),
                             tensor("_fsdp_wrapped_module.head.w", {2})});
  CHECK(names(run_plan(plan, input, nullptr)) == Names{"layers.0.attn.w", "head.w"});
}
