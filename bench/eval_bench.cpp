// Times rule evaluation on a model dump, optimized and unoptimized side by side:
//   taxon_eval_bench RULES.tx DUMP.json [ITERATIONS]
// The dump is parsed once, outside the timing; each evaluation runs single-threaded on
// the loaded table. Prints min and median milliseconds of each, and checks that both
// evaluators select the same tensors.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

namespace {

struct Timing {
  double min_ms, median_ms;
};

Timing time_it(int iterations, const std::function<void()>& run) {
  std::vector<double> samples;
  for (int i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples.front(), samples[samples.size() / 2]};
}

bool same_selections(const EvalResult& a, const EvalResult& b) {
  if (a.groups.size() != b.groups.size() || a.selections.size() != b.selections.size()) return false;
  for (std::size_t g = 0; g < a.groups.size(); ++g)
    if (a.groups[g].tensors != b.groups[g].tensors) return false;
  for (std::size_t s = 0; s < a.selections.size(); ++s)
    if (a.selections[s].tensors != b.selections[s].tensors) return false;
  return a.overlaps.size() == b.overlaps.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: taxon_eval_bench RULES.tx DUMP.json [ITERATIONS]\n";
    return 2;
  }
  int iterations = argc > 3 ? std::atoi(argv[3]) : 20;
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(argv[1]), diagnostics);
  if (diagnostics.has_errors()) {
    std::cerr << argv[1] << ": the rules have errors; `taxon lint` shows them\n";
    return 2;
  }
  auto load_start = std::chrono::steady_clock::now();
  TensorTable table = read_model_dump(argv[2]);
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  std::size_t rules_count = rules.program.selections.size() + (rules.program.groups ? rules.program.groups->groups.size() : 0);
  fmt::print("{} tensors, {} rules; dump parsed in {:.1f} ms\n", table.tensors.size(), rules_count, load_ms);

  EvalOptions plain, optimized;
  plain.optimize = false;
  optimized.optimize = true;
  EvalResult a = evaluate(rules.program, table, plain), b = evaluate(rules.program, table, optimized);
  if (!same_selections(a, b)) {
    std::cerr << "the optimized evaluator disagrees with the unoptimized one\n";
    return 1;
  }
  if (std::getenv("TAXON_BENCH_OPTIMIZED_ONLY")) {  // for profiling the optimized evaluator alone
    Timing fast = time_it(iterations, [&] { evaluate(rules.program, table, optimized); });
    fmt::print("optimized evaluator:   min {:.2f} ms, median {:.2f} ms\n", fast.min_ms, fast.median_ms);
    return 0;
  }
  Timing slow = time_it(std::max(3, iterations / 4), [&] { evaluate(rules.program, table, plain); });
  Timing fast = time_it(iterations, [&] { evaluate(rules.program, table, optimized); });
  fmt::print("unoptimized evaluator: min {:.2f} ms, median {:.2f} ms\n", slow.min_ms, slow.median_ms);
  fmt::print("optimized evaluator:   min {:.2f} ms, median {:.2f} ms ({:.1f}x)\n", fast.min_ms, fast.median_ms,
             slow.median_ms / fast.median_ms);
  return 0;
}
