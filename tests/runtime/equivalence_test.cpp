// YAML <-> taxon language equivalence: every linnaeus YAML rule file in the
// tests and examples, converted by `taxon convert`'s converter, evaluates to
// the same selections, groups (tensors and options) and overlaps as the YAML
// itself, on every shared model dump.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "engine/evaluate.hpp"
#include "engine/plans/plan.hpp"
#include "grammar/linnaeus_to_tx.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"
#include "tests/runtime/eval_summary.hpp"

using namespace taxon;
using taxon::testing::summary;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> files_in(const fs::path& directory, const std::string& extension) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().extension() == extension) out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every linnaeus YAML rule file and its conversion evaluate identically on every shared dump") {
  fs::path root(TAXON_SOURCE_DIR);
  std::vector<std::string> rules = files_in(root / "tests/data/rules/linnaeus", ".yaml");
  for (const auto& example : files_in(root / "examples/linnaeus", ".yaml")) rules.push_back(example);
  std::vector<std::string> dumps = files_in(root / "tests/data/dumps", ".json");
  for (const auto& derived : files_in(root / "tests/data/dumps/derived", ".json")) dumps.push_back(derived);
  REQUIRE(rules.size() >= 20);
  REQUIRE(dumps.size() >= 16);

  std::vector<TensorTable> tables;
  for (const auto& dump : dumps) tables.push_back(read_model_dump(dump));
  ReferenceShapes reference = read_reference((root / "tests/data/dumps/vit_tiny.json").string());

  std::size_t compared = 0;
  for (const auto& path : rules) {
    CAPTURE(path);
    SourceRef yaml = load_source(path);
    Diagnostics yaml_diagnostics;
    Program from_yaml = lower_linnaeus_yaml(yaml, yaml_diagnostics);
    REQUIRE_FALSE(yaml_diagnostics.has_errors());

    Diagnostics convert_diagnostics;
    std::string converted = tx::linnaeus_to_tx(yaml, convert_diagnostics);
    REQUIRE_FALSE(convert_diagnostics.has_errors());
    CAPTURE(converted);
    Diagnostics tx_diagnostics;
    tx::Lowered from_tx = tx::parse_and_lower(std::make_shared<SourceFile>(SourceFile{path + ".tx", converted}), tx_diagnostics);
    REQUIRE_FALSE(tx_diagnostics.has_errors());

    for (std::size_t d = 0; d < tables.size(); ++d) {
      CAPTURE(dumps[d]);
      EvalOptions options{&reference};
      std::string expected = summary(evaluate(from_yaml, tables[d], options), tables[d]);
      std::string actual = summary(evaluate(from_tx.program, tables[d], options), tables[d]);
      CHECK(actual == expected);
      ++compared;
    }
  }
  CHECK(compared == rules.size() * tables.size());
}

TEST_CASE("linnaeus drop_params: the trailing-dot quirk drops exactly what load_pretrained drops") {
  fs::path root(TAXON_SOURCE_DIR);
  SourceRef yaml = load_source((root / "tests/data/rules/linnaeus/plans/mformer_pretrained.yaml").string());
  Diagnostics diagnostics;
  std::vector<CheckpointPlan> plans;
  lower_linnaeus_yaml(yaml, diagnostics, &plans);
  REQUIRE_FALSE(diagnostics.has_errors());
  REQUIRE(plans.size() == 1);

  // The stitched state dict (its names and shapes) goes through the plan.
  TensorTable stitched = read_model_dump((root / "tests/data/dumps/mformer_tiny.json").string());
  std::ifstream report_file(root / "tests/data/ckpt/stitch/stitch_report.json");
  nlohmann::json report = nlohmann::json::parse(report_file);
  std::set<std::string> loaded;
  for (const auto& entry : report["loaded"]) loaded.insert(entry["target"].get<std::string>());
  TensorTable input;
  for (const auto& tensor : stitched.tensors)
    if (loaded.contains(std::string(tensor.name))) input.add_copy(tensor);
  REQUIRE(input.tensors.size() == 86);

  PlanResult result = run_plan(plans[0], input, nullptr);
  std::set<std::string> dropped, expected;
  for (const auto& [name, rule] : result.dropped) dropped.insert(name);
  for (const auto& entry : report["load_pretrained_drops"]["dropped"]) expected.insert(entry["key"].get<std::string>());
  CHECK(expected.size() == 24);
  CHECK(dropped == expected);
}
