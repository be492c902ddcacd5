// The YAML front ends (linnaeus filter trees and configs, anemoi configs): lower, print the
// diagnostics, and evaluate what lowers cleanly both ways.
#include "engine/diagnostic.hpp"
#include "fuzz_support.hpp"
#include "grammar/linnaeus_yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace taxon;
  auto source = std::make_shared<SourceFile>(SourceFile{"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)});
  Diagnostics diagnostics;
  std::vector<CheckpointPlan> plans;
  Program program = lower_linnaeus_yaml(source, diagnostics, &plans);
  (void)render_text(diagnostics.items(), 20);  // as the CLI shows them (--max-errors)
  if (diagnostics.has_errors()) return 0;
  for (const auto& plan : plans) (void)lint_plan(plan);
  fuzz::evaluate_both_ways(program);
  return 0;
}
