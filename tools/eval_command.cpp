// `taxon eval RULES --dump DUMP`: which tensors each selection and group gets.
#include "tools/eval_command.hpp"

#include <iostream>

#include "engine/evaluate.hpp"
#include "runtime/model_dump.hpp"
#include "api/eval_report.hpp"

namespace taxon::cli {

void EvalCommand::add_to(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval", "Evaluate rules against a model dump: selections, groups, overlaps");
  eval->footer(
      "Examples:\n"
      "  taxon eval groups.yaml --dump model.json            groups and selections, for people\n"
      "  taxon eval groups.yaml --dump model.json --all      the same, every name listed\n"
      "  taxon eval groups.yaml --dump model.json --format json   the contract of docs/eval-json.md\n"
      "  taxon eval groups.tx --dump model.json --explain-plan    the rules as the optimizer rewrote them\n"
      "\n"
      "Exit status: 0 done; 1 an error-level finding stands (e.g. a layer_type rule on a dump\n"
      "without module types); 2 the rules or the dump could not be read.");
  eval->add_option("RULES", rules, "Rule file: taxon language (.tx) or a linnaeus filter tree or config (.yaml)")->required();
  eval->add_option("--dump", dump, "Model dump (model-dump/1 JSON) to evaluate against")->required();
  eval->add_option("--reference", reference,
                   "Reference model dump for `initialization` filters: a tensor counts as newly initialized "
                   "when it is absent there or has another shape");
  eval->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  eval->add_flag("--all", list_all, "List every name instead of folding lists after 10");
  eval->add_flag("--explain-plan", explain_plan,
                 "Print the optimized rules (after flattening, folding, dedupe and ordering by cost) and what the "
                 "compiled evaluator builds to answer them on this dump, instead of the result");
  eval->add_option("--max-errors", max_errors, "Diagnostics shown on stderr before 'and N more'")->capture_default_str();
  eval->callback([this]() { throw CLI::RuntimeError(run()); });
}

int EvalCommand::run() const {
  RuleFile rules = load_rule_file(this->rules);
  if (rules.diagnostics.has_errors()) {
    print_diagnostics(rules.diagnostics.items(), max_errors);
    return kCouldNot;
  }
  TensorTable table = read_model_dump(dump);
  std::optional<ReferenceShapes> reference_shapes = load_reference(reference);
  EvalOptions options{reference_shapes ? &*reference_shapes : nullptr};
  if (explain_plan) {
    std::cout << render_evaluation_plan(plan_evaluation(rules.program, table, options), this->rules, dump);
    return kDone;
  }
  EvalResult result = evaluate(rules.program, table, options);
  Diagnostics all = rules.diagnostics;  // front-end warnings come first
  all.append(result.diagnostics);
  result.diagnostics = all;

  if (format == "json") {
    std::cout << render_eval_json(result, table).dump(2) << "\n";
  } else {
    std::cout << render_eval_text(result, table, this->rules, dump, TextReportOptions{list_all});
    std::cout.flush();
    print_diagnostics(result.diagnostics.items(), max_errors);
  }
  return result.diagnostics.has_errors() ? kAnswerNo : kDone;
}

}  // namespace taxon::cli
