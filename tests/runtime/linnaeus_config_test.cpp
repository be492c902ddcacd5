// The linnaeus example config (examples/linnaeus/mformer_groups.yaml) on the
// mFormerV1 dump: the counts linnaeus's own filter code gives, recorded when
// the dump was made.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "engine/evaluate.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

TEST_CASE("linnaeus mFormerV1 groups: sizes - DEFAULT and overlaps as linnaeus computes them") {
  Diagnostics diagnostics;
  Program program = lower_linnaeus_yaml(load_source(std::string(TAXON_SOURCE_DIR) + "/examples/linnaeus/mformer_groups.yaml"),
                                        diagnostics);
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(std::string(TAXON_SOURCE_DIR) + "/tests/data/dumps/mformer_tiny.json");
  EvalResult result = evaluate(program, table);

  std::map<std::string, std::size_t> sizes;
  for (const auto& group : result.groups) sizes[group.name] = group.tensors.size();
  CHECK(sizes == std::map<std::string, std::size_t>{
                     {"NO_DECAY", 108}, {"HEADS_AGG_META", 88}, {"ROPE_STAGES", 56}, {"CONVNEXT_STAGES", 48}, {"DEFAULT", 3}});

  std::set<std::string> fallback;
  for (auto i : result.groups.back().tensors) fallback.emplace(table.tensors[i].name);
  CHECK(fallback == std::set<std::string>{"norm_1.weight", "norm_2.weight", "final_norm.weight"});

  std::map<std::vector<std::string>, std::size_t> overlaps;
  for (const auto& overlap : result.overlaps) {
    ++overlaps[result.group_names(overlap.groups)];
    CHECK(overlap.assigned == overlap.groups);  // overlap mode: it joins both
  }
  CHECK(overlaps == std::map<std::vector<std::string>, std::size_t>{{{"NO_DECAY", "ROPE_STAGES"}, 31},
                                                                     {{"NO_DECAY", "HEADS_AGG_META"}, 44},
                                                                     {{"NO_DECAY", "CONVNEXT_STAGES"}, 28}});
  // The 200 parameters of named_parameters(): the 24 tied head names are not counted again.
  std::set<std::size_t> grouped;
  for (const auto& group : result.groups) grouped.insert(group.tensors.begin(), group.tensors.end());
  CHECK(grouped.size() == 200);
}
