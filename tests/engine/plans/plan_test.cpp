// The plan executor over names and shapes: every step, collisions, and what
// a load into the target would find.
#include <doctest/doctest.h>

#include "engine/plans/plan.hpp"
#include "engine/plans/tensor_actions.hpp"

using namespace taxon;

namespace {

// A tensor as a test writes it; table() stores it in a table.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  TensorKind kind = TensorKind::parameter;
  bool persistent = true;
  TieIndex tied_to;
};

Tensor tensor(std::string name, std::vector<int64_t> shape) { return Tensor{std::move(name), std::move(shape)}; }

TensorTable table(const std::vector<Tensor>& tensors) {
  TensorTable out;
  for (const auto& tensor : tensors) {
    TensorRecord& record = out.tensors.emplace_back();
    record.name = out.text(tensor.name);
    record.shape = out.dims(tensor.shape);
    record.dtype = "float32";
    record.kind = tensor.kind;
    record.persistent = tensor.persistent;
    record.tied_to = tensor.tied_to;
  }
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
  Tensor index = tensor("rel_index", {49});
  index.kind = TensorKind::buffer;
  index.persistent = false;  // a strict load ignores it
  Tensor tied = tensor("lm_head", {120, 8});
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

// The verdict: what PyTorch's load_state_dict would say, decided over names and shapes.
TEST_CASE("verdict: a key of another shape fails the load whatever strict says") {
  TensorTable checkpoint = table({tensor("conv.weight", {8, 3}), tensor("fc.weight", {1000, 8}), tensor("fc.bias", {1000})});
  TensorTable target = table({tensor("conv.weight", {8, 3}), tensor("fc.weight", {10, 8}), tensor("fc.bias", {10})});
  for (bool strict : {true, false}) {
    CAPTURE(strict);
    CheckpointPlan plan;
    plan.steps.push_back(make(step::Load{strict}));
    PlanResult result = run_plan(plan, checkpoint, &target);
    CHECK(result.verdict.load_fails);
    REQUIRE(result.mismatched.size() == 2);
    CHECK(result.mismatched[0].name == "fc.weight");
    CHECK(result.mismatched[0].source_shape == std::vector<int64_t>{1000, 8});
    CHECK(result.mismatched[0].target_shape == std::vector<int64_t>{10, 8});
    CHECK(result.missing.empty());
    CHECK(result.unexpected.empty());
    CHECK(result.verdict.loaded == 1);
    CHECK(result.verdict.hint.find("skip mismatched") != std::string::npos);
  }
  CheckpointPlan skipping;
  skipping.steps.push_back(make(step::SkipMismatched{}));
  skipping.steps.push_back(make(step::Load{false}));
  PlanResult skipped = run_plan(skipping, checkpoint, &target);
  CHECK_FALSE(skipped.verdict.load_fails);
  CHECK(skipped.skipped.size() == 2);
  CHECK(skipped.mismatched.empty());
}

TEST_CASE("verdict: loading nothing fails under strict = false - and the hint is the strip line") {
  TensorTable checkpoint = table({tensor("module.a.w", {2}), tensor("module.b.w", {3})});
  TensorTable target = table({tensor("a.w", {2}), tensor("b.w", {3})});
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Load{false}));
  PlanResult result = run_plan(plan, checkpoint, &target);
  CHECK(result.verdict.load_fails);
  CHECK(result.verdict.loaded == 0);
  CHECK(result.verdict.hint.find("add `strip \"module.\"`") != std::string::npos);

  // The other way round: the target is wrapped, the checkpoint is not.
  PlanResult reversed = run_plan(plan, target, &checkpoint);
  CHECK(reversed.verdict.load_fails);
  CHECK(reversed.verdict.hint.find("add `prefix \"module.\"`") != std::string::npos);

  // An empty target takes nothing and misses nothing: no failure.
  TensorTable empty;
  CHECK_FALSE(run_plan(plan, checkpoint, &empty).verdict.load_fails);
}

TEST_CASE("verdict: keys a rename made that the target lacks come with the nearest target names") {
  TensorTable checkpoint = table({tensor("downsample.0.weight", {4}), tensor("downsample.1.weight", {4, 4}), tensor("stem.w", {1})});
  TensorTable target = table({tensor("layers.0.norm.weight", {4}), tensor("layers.0.conv.weight", {4, 4}), tensor("stem.w", {1})});
  CheckpointPlan plan;
  plan.steps.push_back(make(step::Rename{R"(^downsample\.)", "layers.0.", false}));
  plan.steps.push_back(make(step::Load{false}));
  PlanResult result = run_plan(plan, checkpoint, &target);
  CHECK_FALSE(result.verdict.load_fails);  // stem.w loads; the rest is neither strict nor a shape mismatch
  REQUIRE(result.strays.size() == 2);
  CHECK(result.strays[0].name == "layers.0.0.weight");
  CHECK(result.strays[0].closest == Names{"layers.0.conv.weight", "layers.0.norm.weight"});  // equally near: both
  CHECK(result.unexpected == Names{"layers.0.0.weight", "layers.0.1.weight"});
  CHECK(result.missing == Names{"layers.0.norm.weight", "layers.0.conv.weight"});
}

TEST_CASE("templates are checked against their regex's groups") {
  CHECK_FALSE(template_problem(R"(^blocks\.(\d+)\.)", "stages.2.$1."));
  CHECK_FALSE(template_problem(R"(^blocks\.(?P<i>\d+)\.)", "stages.${i+5}."));
  CHECK_FALSE(template_problem(R"(^experts$)", "experts.${index}", {"index"}));  // unstack supplies ${index}
  auto beyond = template_problem(R"(^(fc)\.weight$)", "head$2.weight");
  REQUIRE(beyond);
  CHECK(beyond->message.find("uses $2") != std::string::npos);
  auto unnamed = template_problem(R"(^vit\.layers\.(?P<i>\d+)\.)", "stages.${layer}.");
  REQUIRE(unnamed);
  CHECK(unnamed->message.find("named i") != std::string::npos);
  CHECK(template_problem(R"(^b\.(?P<i>\d+))", "${i*2}"));
  CHECK(template_problem(R"(^b\.(?P<i>\d+))", "${i+x}"));
  CHECK(template_problem(R"(^b\.(?P<i>\d+))", "${i"));
}

// Action options and shapes: what the actions library would refuse, refused first.
TEST_CASE("action options: types - values - companions") {
  auto problems = [](std::string_view action, std::vector<GroupOption> options) {
    std::vector<std::string> out;
    for (const auto& problem : check_action_options(*find_tensor_action(action), options)) out.push_back(problem.key);
    return out;
  };
  auto option = [](std::string key, OptionValue value) { return GroupOption{std::move(key), std::move(value), {}}; };
  CHECK(problems("pos_embed", {option("prefix_tokens", {int64_t{1}}), option("mode", {std::string("bicubic")})}).empty());
  CHECK(problems("pos_embed", {option("antialias", {std::string("yes")})}) == Names{"antialias"});
  CHECK(problems("pos_embed", {option("mode", {std::string("area")})}) == Names{"mode"});
  CHECK(problems("pos_embed", {option("prefix_tokens", {int64_t{-1}})}) == Names{"prefix_tokens"});
  CHECK(problems("pos_embed", {option("grid", {OptionValue::List{{int64_t{14}}}})}) == Names{"grid"});
  CHECK(problems("pos_embed", {option("mode", {std::string("nearest")}), option("antialias", {true})}) == Names{"antialias"});
  CHECK(problems("rel_pos_bias", {option("extra_rows", {int64_t{3}})}) == Names{"extra_rows"});
  CHECK(problems("rel_pos_bias", {option("extra_position", {std::string("trailing")})}) == Names{"extra_position"});
  CHECK(problems("rel_pos_bias", {option("extra_rows", {int64_t{3}}), option("extra_position", {std::string("trailing")})}).empty());
  CHECK(problems("cast", {}) == Names{""});
  CHECK(problems("rows", {option("std", {0.02})}) == Names{"std"});  // std is for init = "normal"
  CHECK(problems("rows", {option("init", {std::string("normal")}), option("std", {0.0})}) == Names{"std"});
  CHECK(problems("transpose", {option("dimz", {int64_t{1}})}) == Names{"dimz"});
}

TEST_CASE("action shapes: a grid that is not there is an error whose hint computes the extra rows") {
  std::vector<GroupOption> none;
  std::vector<int64_t> beit_384{2212, 12};
  ActionOutcome table = action_outcome("rel_pos_bias", none, {732, 12}, "float32", &beit_384);
  CHECK(table.error.find("732 cells do not form a square grid") != std::string::npos);
  CHECK(table.hint.find("732 = 27\u00b2 + 3 and 2212 = 47\u00b2 + 3: add `extra_rows = 3`") != std::string::npos);
  std::vector<int64_t> vit_384{1, 577, 768};
  ActionOutcome embed = action_outcome("pos_embed", none, {1, 197, 768}, "float32", &vit_384);
  CHECK(embed.hint.find("197 = 14\u00b2 + 1 and 577 = 24\u00b2 + 1: add `prefix_tokens = 1`") != std::string::npos);
  std::vector<GroupOption> prefix{{"prefix_tokens", OptionValue{int64_t{1}}, {}}};
  ActionOutcome fine = action_outcome("pos_embed", prefix, {1, 197, 768}, "float32", &vit_384);
  CHECK(fine.error.empty());
  CHECK(fine.shape == vit_384);
  std::vector<int64_t> other_dim{1, 577, 512};
  CHECK_FALSE(action_outcome("pos_embed", prefix, {1, 197, 768}, "float32", &other_dim).error.empty());
  CHECK_FALSE(action_outcome("pos_embed", prefix, {1, 197, 768}, "int64", &vit_384).error.empty());
  CHECK_FALSE(action_outcome("cast", {{"to", OptionValue{std::string("float16")}, {}}}, {4}, "float8_e4m3fn", nullptr).error.empty());
}

TEST_CASE("verdict: a tie the target has gets both of its names - whichever one the checkpoint kept") {
  Tensor head = tensor("head.weight", {10, 4});
  head.tied_to = 0;
  TensorTable target = table({tensor("embed.weight", {10, 4}), tensor("norm.weight", {4}), head});
  CheckpointPlan plan;  // strict by default
  for (const char* kept : {"embed.weight", "head.weight"}) {
    CAPTURE(kept);
    PlanResult result = run_plan(plan, table({tensor(kept, {10, 4}), tensor("norm.weight", {4})}), &target);
    CHECK_FALSE(result.verdict.load_fails);
    CHECK(result.missing.empty());
    REQUIRE(result.tied.size() == 1);
    CHECK(result.tied[0].second == kept);
    CHECK(result.keys.size() == 3);
    CHECK(result.keys.back().input == 0);  // the same tensor as its partner
  }
  // A partner of another shape is not copied into the tie: the mismatch is reported instead.
  PlanResult wrong = run_plan(plan, table({tensor("embed.weight", {12, 4}), tensor("norm.weight", {4})}), &target);
  CHECK(wrong.tied.empty());
  CHECK(wrong.verdict.load_fails);
  CHECK(wrong.mismatched.size() == 1);
}

TEST_CASE("action shapes: numbers past int64 are refused - never multiplied into undefined behaviour") {
  std::vector<int64_t> target{16, 4};
  std::vector<GroupOption> huge_grid{{"grid", OptionValue{OptionValue::List{{int64_t{1} << 62}, {int64_t{8}}}}, {}}};
  CHECK(action_outcome("rel_pos_bias", huge_grid, {16, 4}, "float32", &target).error.find("covers more cells") != std::string::npos);
  std::vector<GroupOption> huge_shape{{"shape", OptionValue{OptionValue::List{{int64_t{1} << 40}, {int64_t{1} << 40}, {int64_t{-1}}}}, {}}};
  CHECK_FALSE(action_outcome("reshape", huge_shape, {16, 4}, "float32", nullptr).error.empty());
}

TEST_CASE("action shapes: a resize to the grid a tensor already has leaves it - not reported as transformed") {
  std::vector<GroupOption> prefix{{"prefix_tokens", OptionValue{int64_t{1}}, {}}};
  std::vector<int64_t> embed{1, 197, 768};
  ActionOutcome same = action_outcome("pos_embed", prefix, embed, "bfloat16", &embed);
  CHECK(same.unchanged);
  CHECK(same.dtype == "bfloat16");
  std::vector<int64_t> bigger{1, 577, 768};
  ActionOutcome grows = action_outcome("pos_embed", prefix, embed, "bfloat16", &bigger);
  CHECK_FALSE(grows.unchanged);
  CHECK(grows.dtype == "bfloat16");  // a resize keeps the dtype
  std::vector<int64_t> kernel{768, 3, 16, 16}, kernel8{768, 3, 8, 8};
  CHECK(action_outcome("patch_embed", {}, kernel, "float32", &kernel).unchanged);
  CHECK_FALSE(action_outcome("patch_embed", {}, kernel, "float32", &kernel8).unchanged);
  CHECK_FALSE(action_outcome("patch_embed", {}, kernel, "float32", &embed).error.empty());
  // The same row count read as another grid moves every value; so does a square transpose.
  std::vector<int64_t> table{16, 4};
  std::vector<GroupOption> regrid{{"grid", OptionValue{OptionValue::List{{int64_t{2}}, {int64_t{8}}}}, {}}};
  CHECK_FALSE(action_outcome("rel_pos_bias", regrid, table, "float32", &table).unchanged);
  CHECK(action_outcome("rel_pos_bias", {}, table, "float32", &table).unchanged);
  std::vector<int64_t> square{4, 4};
  CHECK_FALSE(action_outcome("transpose", {}, square, "float32", nullptr).unchanged);
  CHECK(action_outcome("cast", {{"to", OptionValue{std::string("float32")}, {}}}, square, "float32", nullptr).unchanged);
}

TEST_CASE("renumber makes nested indices one: outer times the inner count plus inner") {
  // anemoi-models 0.10's chunked processor: 2 chunks of 3 blocks; the inner count is read from the keys.
  TensorTable input = table({tensor("m.p.proc.0.blocks.0.w", {1}), tensor("m.p.proc.0.blocks.2.w", {1}),
                             tensor("m.p.proc.1.blocks.0.w", {1}), tensor("m.p.proc.1.blocks.2", {1}), tensor("m.p.proc.7.w", {1}),
                             tensor("m.p.proc.0.blocksx.1.w", {1})});
  CheckpointPlan plan;
  plan.steps = {make(step::Renumber{R"(^(m\.p\.proc\.)(?P<outer>\d+)\.blocks\.(?P<inner>\d+)(\.|$))", "$1${index}$4"})};
  PlanResult result = run_plan(plan, input, nullptr);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  CHECK(names(result) == Names{"m.p.proc.0.w", "m.p.proc.2.w", "m.p.proc.3.w", "m.p.proc.5", "m.p.proc.7.w", "m.p.proc.0.blocksx.1.w"});
  CHECK(result.renamed.size() == 4);
}

TEST_CASE("renumber onto a key that exists is a collision - never an overwrite") {
  TensorTable input = table({tensor("proc.0.blocks.1.w", {1}), tensor("proc.1.w", {1})});
  CheckpointPlan plan;
  plan.steps = {make(step::Renumber{R"(^proc\.(?P<outer>\d+)\.blocks\.(?P<inner>\d+))", "proc.${index}"})};
  CHECK(run_plan(plan, input, nullptr).diagnostics.has_errors());
}

TEST_CASE("renumber without outer and inner captures is an error") {
  CheckpointPlan plan;
  plan.steps = {make(step::Renumber{R"(^proc\.(\d+)\.blocks\.(\d+))", "proc.${index}"})};
  CHECK(run_plan(plan, table({tensor("proc.0.blocks.1.w", {1})}), nullptr).diagnostics.has_errors());
}

TEST_CASE("renumber with an index too large for a number is an error - not a crash") {
  CheckpointPlan plan;
  plan.steps = {make(step::Renumber{R"(^proc\.(?P<outer>\d+)\.blocks\.(?P<inner>\d+))", "proc.${index}"})};
  PlanResult result = run_plan(plan, table({tensor("proc.99999999999999999999999.blocks.1.w", {1})}), nullptr);
  REQUIRE(result.diagnostics.has_errors());
  CHECK(result.diagnostics.items()[0].message.find("not a whole number below 2^31") != std::string::npos);
}
