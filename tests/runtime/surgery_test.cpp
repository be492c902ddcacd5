// Split, fuse, stack, unstack, transpose, reshape and rows against PyTorch's
// own results (tests/data/surgery/make_surgery.py): byte for byte where no
// arithmetic is involved, max abs error <= 1e-6 where a new row is computed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "engine/plans/plan.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/files.hpp"
#include "runtime/materialize.hpp"

using namespace taxon;

namespace {

const std::string kDir = std::string(TAXON_SOURCE_DIR) + "/tests/data/surgery/";

CheckpointPlan load_plan(const std::string& file, const std::string& name) {
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(kDir + file), diagnostics);
  REQUIRE_FALSE(diagnostics.has_errors());
  for (const auto& plan : rules.checkpoint_plans)
    if (plan.name == name) return plan;
  FAIL("no plan " << name);
  return {};
}

// The plan's result, made: name -> tensor.
std::map<std::string, std::shared_ptr<const TensorData>> apply(const CheckpointPlan& plan, const Checkpoint& input,
                                                               const TensorTable* target) {
  PlanResult result = run_plan(plan, checkpoint_table(input), target);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  CHECK_FALSE(result.verdict.load_fails);
  Materializer materializer(result.keys, [&](std::size_t row) -> const TensorData& { return input.tensors[row].data; });
  std::map<std::string, std::shared_ptr<const TensorData>> out;
  for (const auto& key : result.keys) {
    out[key.name] = materializer.make(key);
    CHECK(out[key.name]->shape == key.recipe->shape);
  }
  return out;
}

double max_abs_error(const TensorData& a, const TensorData& b) {
  std::vector<uint8_t> x = a.contiguous_bytes(), y = b.contiguous_bytes();
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (std::size_t i = 0; i + 4 <= x.size(); i += 4) {
    float p, q;
    std::memcpy(&p, &x[i], 4);
    std::memcpy(&q, &y[i], 4);
    worst = std::max(worst, std::abs(static_cast<double>(p) - q));
  }
  return worst;
}

void check_equal(const std::map<std::string, std::shared_ptr<const TensorData>>& got, const Checkpoint& want,
                 const std::set<std::string>& computed = {}) {
  CHECK(got.size() == want.tensors.size());
  for (const auto& tensor : want.tensors) {
    CAPTURE(tensor.name);
    REQUIRE(got.contains(tensor.name));
    const TensorData& made = *got.at(tensor.name);
    CHECK(made.shape == tensor.data.shape);
    CHECK(made.dtype == tensor.data.dtype);
    if (computed.contains(tensor.name)) CHECK(max_abs_error(made, tensor.data) <= 1e-6);
    else CHECK(made.contiguous_bytes() == tensor.data.contiguous_bytes());
  }
}

}  // namespace

TEST_CASE("every kind of surgery gives what PyTorch gives") {
  Checkpoint input = read_checkpoint(kDir + "input.safetensors");
  Checkpoint expected = read_checkpoint(kDir + "expected.safetensors");
  auto got = apply(load_plan("plan.tx", "surgery"), input, nullptr);
  check_equal(got, expected, {"embed.weight", "lm_head.weight"});
}

TEST_CASE("a transformers 4 Mixtral becomes the transformers 5 layout - and back - byte for byte") {
  Checkpoint v4 = read_checkpoint(kDir + "mixtral_v4.safetensors");
  Checkpoint v5 = read_checkpoint(kDir + "mixtral_v5.safetensors");
  TensorTable v5_table = checkpoint_table(v5), v4_table = checkpoint_table(v4);
  check_equal(apply(load_plan("mixtral.tx", "mixtral_v5"), v4, &v5_table), v5);
  check_equal(apply(load_plan("mixtral.tx", "mixtral_v4"), v5, &v4_table), v4);
}

TEST_CASE("split sizes come from the target when it holds the parts") {
  // GQA: q, k, v of different sizes, read off the target's shapes.
  Checkpoint input = read_checkpoint(kDir + "input.safetensors");
  TensorTable target;
  for (auto [name, rows] : {std::pair{"gqa.q.weight", 4}, {"gqa.k.weight", 2}, {"gqa.v.weight", 2}}) {
    TensorRecord& record = target.tensors.emplace_back();
    record.name = name;
    record.shape = target.dims(std::vector<int64_t>{rows, 4});
    record.dtype = "float32";
  }
  CheckpointPlan plan;
  plan.steps.push_back(PlanStep{step::Split{"gqa\\.qkv\\.weight$", {"gqa.q.weight", "gqa.k.weight", "gqa.v.weight"}, 0, {}}, {}});
  Predicate gqa_only;
  gqa_only.node = StringMatch{StringField::name, MatchOp::starts, {"gqa."}};
  plan.steps.push_back(PlanStep{step::Drop{gqa_only, true, "keep"}, {}});
  plan.steps.push_back(PlanStep{step::Load{true}, {}});
  auto got = apply(plan, input, &target);
  Checkpoint expected = read_checkpoint(kDir + "expected.safetensors");
  for (const auto& tensor : expected.tensors)
    if (tensor.name.starts_with("gqa.")) CHECK(got.at(tensor.name)->contiguous_bytes() == tensor.data.contiguous_bytes());
}

TEST_CASE("byte operations on a strided view read the view - not its storage") {
  Checkpoint input = read_checkpoint(kDir + "input.safetensors");
  const TensorData* packed = nullptr;
  for (const auto& tensor : input.tensors)
    if (tensor.name == "packed.down_proj") packed = &tensor.data;
  REQUIRE(packed);  // (3, 4, 6)
  TensorData t = transpose(*packed, 1, 2);                 // (3, 6, 4), compact
  TensorData back = transpose(transpose(t, 0, 2), 0, 2);  // a no-op made of two
  CHECK(back.contiguous_bytes() == t.contiguous_bytes());
  TensorData row = select(narrow(t, 1, 2, 3), 0, 1);  // t[1, 2:5, :]
  CHECK(row.shape == std::vector<int64_t>{3, 4});
  std::vector<uint8_t> all = t.contiguous_bytes(), part = row.contiguous_bytes();
  CHECK(std::memcmp(part.data(), all.data() + (1 * 24 + 2 * 4) * 4, part.size()) == 0);
  TensorData joined = concat({&t, &t}, 2);
  CHECK(joined.shape == std::vector<int64_t>{3, 6, 8});
  TensorData piled = stack({&t, &t}, 3);
  CHECK(piled.shape == std::vector<int64_t>{3, 6, 4, 2});
  CHECK(piled.contiguous_bytes().size() == joined.contiguous_bytes().size());
}
