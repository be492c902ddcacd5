// The tensor actions against values PyTorch itself computed
// (tests/data/actions/make_reference.py): max abs error <= 1e-6 for float32,
// exact for casts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>

#include <nlohmann/json.hpp>

#include "grammar/tx_lower.hpp"
#include "runtime/actions.hpp"
#include "runtime/files.hpp"
#include "runtime/materialize.hpp"
#include "runtime/model_dump.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/input_error.hpp"

using namespace taxon;

namespace {

GroupOption option(const std::string& key, const nlohmann::json& value) {
  GroupOption out{key, {}, {}};
  if (value.is_boolean()) out.value.value = value.get<bool>();
  else if (value.is_number_integer()) out.value.value = value.get<int64_t>();
  else if (value.is_number()) out.value.value = value.get<double>();
  else if (value.is_string()) out.value.value = value.get<std::string>();
  else if (value.is_array()) {
    OptionValue::List list;
    for (const auto& item : value) list.push_back(OptionValue{item.get<int64_t>()});
    out.value.value = std::move(list);
  }
  return out;
}

std::vector<float> floats(const TensorData& tensor) {
  std::vector<uint8_t> bytes = tensor.contiguous_bytes();
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// The largest elementwise |a - b| of two float32 tensors of one size, computed exactly (in double).
double max_abs_difference(const TensorData& a, const TensorData& b) {
  std::vector<float> x = floats(a), y = floats(b);
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(x[i]) - y[i]));
  return worst;
}

// Every tensor of the checkpoints by name (the later checkpoint's on a clash).
std::map<std::string, const TensorData*> by_name(std::initializer_list<const Checkpoint*> checkpoints) {
  std::map<std::string, const TensorData*> out;
  for (const Checkpoint* checkpoint : checkpoints)
    for (const auto& tensor : checkpoint->tensors) out[tensor.name] = &tensor.data;
  return out;
}

// A relative-position table's options: the mode, and BEiT's trailing extra rows where it has them.
std::vector<GroupOption> table_options(const char* mode, int64_t extra_rows) {
  std::vector<GroupOption> options{option("mode", mode)};
  if (extra_rows > 0) {
    options.push_back(option("extra_rows", extra_rows));
    options.push_back(option("extra_position", "trailing"));
  }
  return options;
}

}  // namespace

TEST_CASE("each tensor action matches PyTorch's own result") {
  std::string dir = std::string(TAXON_SOURCE_DIR) + "/tests/data/actions/";
  Checkpoint reference = read_checkpoint(dir + "reference.safetensors");
  std::map<std::string, const TensorData*> tensors = by_name({&reference});
  std::ifstream in(dir + "cases.json");
  nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  REQUIRE(cases.size() == 13);
  for (const auto& c : cases) {
    std::string name = c["name"];
    CAPTURE(name);
    std::vector<GroupOption> options;
    for (const auto& [key, value] : c["options"].items()) options.push_back(option(key, value));
    const TensorData& input = *tensors.at(name + ".in");
    const TensorData& expected = *tensors.at(name + ".out");
    TensorData got = run_action(c["action"], options, input, expected.shape);
    CHECK(got.shape == expected.shape);
    CHECK(got.dtype == expected.dtype);
    if (expected.dtype == DType::float32) {
      CHECK(max_abs_difference(got, expected) <= 1e-6);
    } else {
      CHECK(got.contiguous_bytes() == expected.contiguous_bytes());  // casts round exactly as PyTorch does
    }
  }
}

TEST_CASE("an action that cannot produce the target shape says why") {
  Checkpoint reference = read_checkpoint(std::string(TAXON_SOURCE_DIR) + "/tests/data/actions/reference.safetensors");
  const TensorData* table = nullptr;
  for (const auto& tensor : reference.tensors)
    if (tensor.name == "swin_window_4_to_8.in") table = &tensor.data;
  REQUIRE(table);
  CHECK_THROWS_WITH_AS(run_action("rel_pos_bias", {}, *table, {50, 3}), doctest::Contains("do not form a square grid"), InputError);
  CHECK_THROWS_WITH_AS(run_action("rel_pos_bias", {}, *table, {225, 4}), doctest::Contains("same number of heads"), InputError);
  CHECK_THROWS_WITH_AS(run_action("warp", {}, *table, {49, 3}), doctest::Contains("unknown action"), InputError);
}

TEST_CASE("rel_pos_bias mode geometric is timm's resize_rel_pos_bias_table - 8 window pairs within 1e-5") {
  // tests/data/timm_checkpoint/tables.pt: timm's own results (make_expected.py, the timm commit in
  // expected.json), upsizing, downsizing (a crop, not a squeeze), the same size, window 2, BEiT's
  // 3 trailing rows.
  std::string dir = std::string(TAXON_SOURCE_DIR) + "/tests/data/timm_checkpoint/";
  Checkpoint tables = read_checkpoint(dir + "tables.pt");
  std::map<std::string, const TensorData*> tensors = by_name({&tables});
  std::ifstream in(dir + "expected.json");
  nlohmann::json rows = nlohmann::json::parse(in)["tables"]["rows"];
  REQUIRE(rows.size() == 8);
  for (const auto& row : rows) {
    std::string label = row["label"];
    CAPTURE(label);
    int64_t extra = row["extra_rows"].get<int64_t>();
    const TensorData& input = *tensors.at("in." + label);
    const TensorData& expected = *tensors.at("default." + label);
    TensorData got = run_action("rel_pos_bias", table_options("geometric", extra), input, expected.shape);
    REQUIRE(got.shape == expected.shape);
    CHECK(max_abs_difference(got, expected) <= 1e-5f);
    // The plain bicubic resize is another algorithm: far from timm's (when the grid changes).
    if (row["source_window"] != row["target_window"])
      CHECK(max_abs_difference(run_action("rel_pos_bias", table_options("bicubic", extra), input, expected.shape), expected) > 0.01f);
  }
}

TEST_CASE("timm's Swin checkpoint_filter_fn for window 7 -> 12: the docs/actions.md plan gives timm's tensors within 1e-5") {
  // tests/data/timm_checkpoint/swin_w7_to_w12_*: a timm Swin's state dict, the target model's
  // dump, and what timm.models.swin_transformer.checkpoint_filter_fn made of it.
  std::string dir = std::string(TAXON_SOURCE_DIR) + "/tests/data/timm_checkpoint/";
  Checkpoint source = read_checkpoint(dir + "swin_w7_to_w12_source.pt");
  Checkpoint expected = read_checkpoint(dir + "swin_w7_to_w12_expected.pt");
  std::map<std::string, const TensorData*> inputs = by_name({&source});
  std::size_t compared = 0;
  for (const auto& tensor : expected.tensors) {
    CAPTURE(tensor.name);
    REQUIRE(inputs.contains(tensor.name));
    const TensorData& input = *inputs.at(tensor.name);
    bool table = tensor.name.ends_with("relative_position_bias_table");
    TensorData got = table ? run_action("rel_pos_bias", {option("mode", "geometric")}, input, tensor.data.shape) : input;
    REQUIRE(got.shape == tensor.data.shape);
    if (tensor.data.dtype != DType::float32) continue;
    CHECK(max_abs_difference(got, tensor.data) <= 1e-5f);
    ++compared;
  }
  CHECK(compared == 82);
}

TEST_CASE("stdlib/timm/checkpoint.tx: each plan gives what timm's checkpoint_filter_fn gives - every key within 1e-5") {
  // tests/data/timm_checkpoint/: a timm model's state dict, the target model (another image,
  // window or patch size), and timm's own filter's result (make_expected.py, the commit in
  // expected.json); "_scipy": timm run with TIMM_USE_SCIPY_INTERP=1.
  std::string root = TAXON_SOURCE_DIR;
  struct Case {
    std::string name, plan, target;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::string expected = "_expected.pt";
  };
  const std::pair<std::string, std::string> cubic{"table_mode", "geometric_cubic"};
  const Case cases[] = {
      {"beit_224_to_384", "beit", "beit_224_to_384", {}},
      {"beit_shared_224_to_384", "beit", "beit_shared_224_to_384", {}},
      {"swin_w7_to_w12", "swin", "swin_w7_to_w12", {}},
      {"swin_ms_w7_to_w12", "swin_microsoft", "swin_w7_to_w12", {}},
      {"vit_224_to_384", "vit", "vit_224_to_384", {}},
      {"vit_p16_to_p8", "vit", "vit_p16_to_p8", {}},
      {"deit_distilled_224_to_384", "vit", "deit_distilled_224_to_384", {{"prefix_tokens", "2"}}},
      {"vit_reg4_gap_256_to_384", "vit", "vit_reg4_gap_256_to_384", {{"prefix_tokens", "0"}}},
      {"beit_224_to_384", "beit", "beit_224_to_384", {cubic}, "_expected_scipy.pt"},
      {"beit_shared_224_to_384", "beit", "beit_shared_224_to_384", {cubic}, "_expected_scipy.pt"},
      {"swin_w7_to_w12", "swin", "swin_w7_to_w12", {cubic}, "_expected_scipy.pt"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.expected);
    Diagnostics diagnostics;
    tx::Lowered lowered =
        tx::parse_and_lower(load_source(root + "/stdlib/timm/checkpoint.tx"), diagnostics, {}, c.parameters);
    REQUIRE_FALSE(diagnostics.has_errors());
    const CheckpointPlan* plan = nullptr;
    for (const auto& candidate : lowered.checkpoint_plans)
      if (candidate.name == c.plan) plan = &candidate;
    REQUIRE(plan != nullptr);
    std::string dir = root + "/tests/data/timm_checkpoint/";
    Checkpoint source = read_checkpoint(dir + c.name + "_source.pt");
    Checkpoint expected = read_checkpoint(dir + c.name + c.expected);
    TensorTable target = read_model_dump(dir + c.target + "_target.json");
    PlanResult result = run_plan(*plan, checkpoint_table(source), &target);
    REQUIRE_FALSE(result.diagnostics.has_errors());
    CHECK_FALSE(result.verdict.load_fails);
    Materializer materializer(result.keys, [&](std::size_t row) -> const TensorData& { return source.tensors[row].data; });
    std::map<std::string, const TensorData*> want = by_name({&expected});
    CHECK(result.keys.size() == want.size());
    for (const auto& key : result.keys) {
      CAPTURE(key.name);
      REQUIRE(want.contains(key.name));
      auto made = materializer.make(key);
      const TensorData& timm = *want.at(key.name);
      REQUIRE(made->shape == timm.shape);
      if (timm.dtype != DType::float32) {
        CHECK(made->contiguous_bytes() == timm.contiguous_bytes());
        continue;
      }
      CHECK(max_abs_difference(*made, timm) <= 1e-5f);
    }
  }
}

TEST_CASE("rel_pos_bias mode geometric_cubic is timm's resize_rel_pos_bias_table with TIMM_USE_SCIPY_INTERP=1 - within 1e-5") {
  // BEiT's original resize (scipy's interp2d, cubic): tests/data/timm_checkpoint/tables_scipy.pt,
  // timm's own results where scipy could make them (not window 2).
  std::string dir = std::string(TAXON_SOURCE_DIR) + "/tests/data/timm_checkpoint/";
  Checkpoint tables = read_checkpoint(dir + "tables.pt");
  Checkpoint scipy = read_checkpoint(dir + "tables_scipy.pt");
  std::map<std::string, const TensorData*> tensors = by_name({&tables, &scipy});
  std::ifstream in(dir + "expected.json");
  nlohmann::json rows = nlohmann::json::parse(in)["tables"]["rows"];
  std::size_t compared = 0;
  for (const auto& row : rows) {
    if (!row["scipy_error"].is_null()) continue;
    std::string label = row["label"];
    CAPTURE(label);
    const TensorData& expected = *tensors.at("scipy." + label);
    TensorData got = run_action("rel_pos_bias", table_options("geometric_cubic", row["extra_rows"].get<int64_t>()),
                                *tensors.at("in." + label), expected.shape);
    REQUIRE(got.shape == expected.shape);
    CHECK(max_abs_difference(got, expected) <= 1e-5f);
    ++compared;
  }
  CHECK(compared == 7);
}
