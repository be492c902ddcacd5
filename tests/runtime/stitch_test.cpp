// stdlib/linnaeus/stitched_mformer.tx reproduces linnaeus's stitched loader:
// the fixture's independent re-implementation recorded the expected state dict
// (tests/data/ckpt/stitch/mformer_tiny.safetensors) and what was skipped and why
// (stitch_report.json).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/plans/plan.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

TEST_CASE("the stitched ConvNeXt + RoPE-ViT preset gives linnaeus's mFormerV1 state dict - byte for byte") {
  std::string root = TAXON_SOURCE_DIR;
  std::string stitch = root + "/tests/data/ckpt/stitch/";
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(root + "/stdlib/linnaeus/stitched_mformer.tx"), diagnostics);
  REQUIRE_FALSE(diagnostics.has_errors());
  REQUIRE(rules.checkpoint_plans.size() == 1);

  std::vector<Checkpoint> sources{read_checkpoint(stitch + "convnext_src.pt"), read_checkpoint(stitch + "rope_vit_src.pt")};
  TensorTable input;
  std::vector<const TensorData*> data;
  for (std::size_t s = 0; s < sources.size(); ++s) {
    TensorTable table = checkpoint_table(sources[s]);
    for (std::size_t i = 0; i < table.tensors.size(); ++i) {
      TensorRecord& record = input.add_copy(table.tensors[i]);
      record.source = SourceLabel::of_input(s + 1);
      data.push_back(&sources[s].tensors[i].data);
    }
  }
  TensorTable target = read_model_dump(root + "/tests/data/dumps/mformer_tiny.json");
  PlanResult result = run_plan(rules.checkpoint_plans[0], input, &target);
  REQUIRE_FALSE(result.diagnostics.has_errors());

  Checkpoint expected = read_checkpoint(stitch + "mformer_tiny.safetensors");
  std::map<std::string, std::vector<uint8_t>> want;
  for (const auto& tensor : expected.tensors) want[tensor.name] = tensor.data.contiguous_bytes();
  REQUIRE(result.keys.size() == want.size());
  for (const auto& key : result.keys) {
    CAPTURE(key.name);
    REQUIRE(want.contains(key.name));
    CHECK(data[key.input]->contiguous_bytes() == want[key.name]);
  }

  std::ifstream report_file(stitch + "stitch_report.json");
  nlohmann::json report = nlohmann::json::parse(report_file);
  std::set<std::string> skipped, expected_skipped, absent, expected_absent;
  for (const auto& m : result.skipped) skipped.insert(m.name);
  for (const auto& entry : report["skipped_shape_mismatch"]) expected_skipped.insert(entry["target"].get<std::string>());
  for (const auto& name : result.not_in_target) absent.insert(name);
  for (const auto& entry : report["skipped_target_not_in_model"]) expected_absent.insert(entry["target"].get<std::string>());
  CHECK(skipped == expected_skipped);
  CHECK(absent == expected_absent);
  CHECK(result.missing.size() == report["counts"]["missing_target_keys"].get<std::size_t>());
}
