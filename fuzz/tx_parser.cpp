// The taxon language: parse, lower, print the diagnostics, and evaluate what lowers cleanly both
// ways. Also: what `taxon fmt` prints must parse again, and print the same (fmt is idempotent).
#include "engine/diagnostic.hpp"
#include "fuzz_support.hpp"
#include "grammar/tx_lower.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace taxon;
  auto source = std::make_shared<SourceFile>(SourceFile{"fuzz.tx", std::string(reinterpret_cast<const char*>(data), size)});
  Diagnostics diagnostics;
  tx::File file = tx::parse(source, diagnostics);
  (void)render_text(diagnostics.items(), 20);  // as the CLI shows them (--max-errors)
  if (diagnostics.has_errors()) return 0;

  std::string printed = tx::print_file(file);
  auto reprinted_source = std::make_shared<SourceFile>(SourceFile{"fuzz.fmt.tx", printed});
  Diagnostics reparse;
  tx::File reparsed = tx::parse(reprinted_source, reparse);
  if (reparse.has_errors()) fuzz::fail("`taxon fmt` output does not parse:\n" + printed + "\n" + render_text(reparse.items(), 3));
  if (tx::print_file(reparsed) != printed) fuzz::fail("`taxon fmt` is not idempotent on:\n" + printed);

  tx::Lowered lowered = tx::lower(file, diagnostics);  // no resolver: an import is an error
  (void)render_text(diagnostics.items(), 20);
  if (diagnostics.has_errors()) return 0;
  for (const auto& plan : lowered.checkpoint_plans) (void)lint_plan(plan);
  fuzz::evaluate_both_ways(lowered.program);
  return 0;
}
