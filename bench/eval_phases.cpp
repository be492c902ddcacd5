// Where `taxon eval` spends its time, phase by phase, through the public API:
//   taxon_eval_phases RULES DUMP.json [ITERATIONS]
// Each iteration reads the dump afresh (Model::from_dump), evaluates (evaluate), and renders
// both reports (Report::json, Report::text), as one `taxon eval` run does; min and median
// milliseconds per phase. Start-up and writing the output are what `taxon eval` adds.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "taxon/taxon.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: taxon_eval_phases RULES DUMP.json [ITERATIONS]\n");
    return 2;
  }
  int iterations = argc > 3 ? std::max(1, std::atoi(argv[3])) : 10;
  taxon::Rules rules = taxon::Rules::load(argv[1]);
  if (!rules.ok()) {
    fmt::print(stderr, "{}: the rules have errors; `taxon lint` shows them\n", argv[1]);
    return 2;
  }
  const std::vector<std::string> phases = {"read dump", "evaluate", "render json", "render text"};
  std::map<std::string, std::vector<double>> samples;
  std::size_t json_bytes = 0, tensors = 0;
  for (int i = 0; i < iterations; ++i) {
    auto start = Clock::now();
    taxon::Model model = taxon::Model::from_dump(argv[2]);
    samples["read dump"].push_back(since(start));
    start = Clock::now();
    taxon::EvaluateOptions options;
    options.tensor_lists = false;  // as `taxon eval` asks: it prints the report and walks no list
    taxon::Report report = taxon::evaluate(rules, model, options);
    samples["evaluate"].push_back(since(start));
    start = Clock::now();
    json_bytes = report.json().size();
    samples["render json"].push_back(since(start));
    start = Clock::now();
    (void)report.text(false);
    samples["render text"].push_back(since(start));
    tensors = model.size();
  }
  fmt::print("{} tensors, json report {} bytes, {} iterations\n", tensors, json_bytes, iterations);
  for (const auto& phase : phases) {
    auto& values = samples[phase];
    std::sort(values.begin(), values.end());
    fmt::print("{:<12} min {:8.1f} ms  median {:8.1f} ms\n", phase, values.front(), values[values.size() / 2]);
  }
  return 0;
}
