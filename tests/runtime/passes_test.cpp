// The optimizer preserves results: on every rule file of the tests, the
// examples, the stdlib and the benchmark, over every shared model dump, each
// pass alone and the whole pipeline with the compiled evaluator give the same
// selections, groups, per-tensor options, overlaps and diagnostics as the
// rules evaluated as written.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>

#include "engine/evaluate.hpp"
#include "engine/passes/dedupe.hpp"
#include "engine/passes/flatten.hpp"
#include "engine/passes/fold.hpp"
#include "engine/passes/optimize.hpp"
#include "engine/passes/order.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"
#include "tests/runtime/eval_summary.hpp"
#include "tests/test_support.hpp"

using namespace taxon;
using taxon::testing::diagnostics_summary;
using taxon::testing::summary;
namespace fs = std::filesystem;

namespace {

struct Rules {
  std::string path;
  Program program;
};

std::vector<std::string> files(const fs::path& directory, const std::string& extension, bool recursive = false) {
  std::vector<std::string> out;
  auto add = [&](const fs::directory_entry& entry) {
    if (entry.path().extension() == extension) out.push_back(entry.path().string());
  };
  if (recursive)
    for (const auto& entry : fs::recursive_directory_iterator(directory)) add(entry);
  else
    for (const auto& entry : fs::directory_iterator(directory)) add(entry);
  std::sort(out.begin(), out.end());
  return out;
}

// Every rule file that lowers without errors: YAML (linnaeus, anemoi) and taxon language.
std::vector<Rules> corpus() {
  fs::path root(TAXON_SOURCE_DIR);
  std::vector<Rules> out;
  std::vector<std::string> yaml = files(root / "tests/data/rules/linnaeus", ".yaml");
  for (const auto& path : files(root / "tests/data/rules/anemoi", ".yaml")) yaml.push_back(path);
  for (const auto& path : files(root / "examples/linnaeus", ".yaml")) yaml.push_back(path);
  for (const auto& path : yaml) {
    Diagnostics diagnostics;
    Program program = lower_linnaeus_yaml(load_source(path), diagnostics);
    if (!diagnostics.has_errors()) out.push_back({path, std::move(program)});
  }
  std::vector<std::string> tx = files(root / "tests/data/rules/tx", ".tx");
  for (const auto& path : files(root / "stdlib", ".tx", true)) tx.push_back(path);
  for (const auto& path : files(root / "examples/tx", ".tx")) tx.push_back(path);
  tx.push_back((root / "bench/deepseek_v3_groups.tx").string());
  auto resolve = [](const std::string& import, const SourceFile& from, std::string&) -> SourceRef {
    fs::path next_to = fs::path(from.path).parent_path() / import;
    return load_source(fs::exists(next_to) ? next_to.string() : (fs::path(TAXON_SOURCE_DIR) / "stdlib" / import).string());
  };
  for (const auto& path : tx) {
    Diagnostics diagnostics;
    tx::Lowered lowered = tx::parse_and_lower(load_source(path), diagnostics, resolve);
    if (!diagnostics.has_errors()) out.push_back({path, std::move(lowered.program)});
  }
  return out;
}

std::vector<std::pair<std::string, TensorTable>> dumps() {
  fs::path root(TAXON_SOURCE_DIR);
  std::vector<std::pair<std::string, TensorTable>> out;
  for (const auto& dir : {"tests/data/dumps", "tests/data/dumps/derived"})
    for (const auto& path : files(root / dir, ".json")) out.emplace_back(path, read_model_dump(path));
  return out;
}

Program each_predicate(const Program& program, const std::function<Predicate(const Predicate&)>& pass) {
  Program out = program;
  for (auto& selection : out.selections) selection.predicate = pass(selection.predicate);
  if (out.groups)
    for (auto& group : out.groups->groups) group.predicate = pass(group.predicate);
  return out;
}

}  // namespace

TEST_CASE("each optimizer pass - and the compiled evaluator - preserve every result on every shared dump") {
  std::vector<Rules> rules = corpus();
  auto tables = dumps();
  REQUIRE(rules.size() >= 40);
  REQUIRE(tables.size() >= 17);
  ReferenceShapes reference = read_reference(std::string(TAXON_SOURCE_DIR) + "/tests/data/dumps/vit_tiny.json");
  const std::vector<std::pair<std::string, std::function<Predicate(const Predicate&)>>> passes = {
      {"flatten", [](const Predicate& p) { return flatten(p); }},
      {"fold", [](const Predicate& p) { return fold(p); }},
      {"dedupe", [](const Predicate& p) { return dedupe(p); }},
      {"order_by_cost", [](const Predicate& p) { return order_by_cost(p); }},
      {"optimize", [](const Predicate& p) { return optimize(p); }},
  };
  // Pair k of (rule file, dump) runs when k % stride == 0: every file and every dump still runs.
  const std::size_t stride = taxon::testing::property_stride();
  std::size_t pair = 0, compared = 0;
  for (const auto& [path, program] : rules) {
    CAPTURE(path);
    std::vector<std::pair<std::string, Program>> rewritten;
    for (const auto& [name, pass] : passes) rewritten.emplace_back(name, each_predicate(program, pass));
    for (const auto& [dump, table] : tables) {
      if (pair++ % stride != 0) continue;
      CAPTURE(dump);
      EvalOptions plain{&reference};
      plain.optimize = false;
      EvalOptions compiled{&reference};
      EvalResult expected = evaluate(program, table, plain);
      std::string want = summary(expected, table), want_diagnostics = diagnostics_summary(expected);
      for (const auto& [name, pass_program] : rewritten) {
        CAPTURE(name);
        CHECK(summary(evaluate(pass_program, table, plain), table) == want);
      }
      EvalResult optimized = evaluate(program, table, compiled);
      CHECK(summary(optimized, table) == want);
      CHECK(diagnostics_summary(optimized) == want_diagnostics);
      ++compared;
    }
  }
  CHECK(compared == (rules.size() * tables.size() + stride - 1) / stride);
}
