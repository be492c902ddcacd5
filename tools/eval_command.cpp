// `taxon eval RULES --dump DUMP`: which tensors each selection and group gets.
#include "tools/eval_command.hpp"

#include <iostream>

#include "taxon/taxon.hpp"
#include "tools/cli_common.hpp"
#include "tools/terminal_colour.hpp"
#include "tools/cli_inputs.hpp"

namespace taxon::cli {

void EvalCommand::add_to(CLI::App& app) {
  CLI::App* eval = app.add_subcommand("eval", "Evaluate rules against a model dump: selections, groups, overlaps");
  eval->footer(
      "Examples:\n"
      "  taxon eval groups.yaml --dump model.json            groups and selections, for people\n"
      "  taxon eval groups.yaml --dump model.json --all      the same, every name listed\n"
      "  taxon eval groups.yaml --dump model.json --format json   the contract of docs/eval-json.md\n"
      "  taxon eval groups.tx --dump model.json --explain-plan    the rules as the optimizer rewrote them\n"
      "  taxon eval timm/layer_decay --dump vit.json --param decay=0.65   a stdlib preset, with a parameter\n"
      "  taxon eval groups.tx --dump checkpoint.safetensors   a checkpoint: names, shapes, dtypes\n"
      "  python3 tools/dump_model.py my.module.Model | taxon eval groups.tx --dump -\n"
      "\n"
      "Exit status: 0 done; 1 an error-level finding stands (e.g. a layer_type rule on a dump\n"
      "without module types); 2 the rules or the dump could not be read.");
  eval->add_option("RULES", rules, "Rule file: taxon language (.tx) or a linnaeus filter tree or config (.yaml), or a stdlib preset "
                   "(timm/layer_decay), or - for standard input")->required();
  add_lang_option(eval, lang);
  eval->add_option("--dump", dump, "Model to evaluate against: a model dump (model-dump/1 JSON, tools/dump_model.py), a checkpoint (.pt, .safetensors; no module types), or - for a dump on standard input")->required();
  eval->add_option("--reference", reference,
                   "Reference model dump for `initialization` filters: a tensor counts as newly initialized "
                   "when it is absent there or has another shape");
  add_param_option(eval, parameters);
  eval->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  eval->add_flag("--all", list_all, "List every name instead of folding lists after 10");
  eval->add_flag("--explain-plan", explain_plan,
                 "Print the optimized rules (after flattening, folding, dedupe and ordering by cost) and what the "
                 "compiled evaluator builds to answer them on this dump, instead of the result");
  eval->add_option("--max-errors", max_errors, "Diagnostics shown on stderr before 'and N more'")->capture_default_str();
  eval->callback([this]() { throw CLI::RuntimeError(run()); });
}

int EvalCommand::run() const {
  check_one_stdin({this->rules, dump, reference});
  auto [rules, loaded] = read_rules_and_model(this->rules, lang, parameters, dump);
  if (!rules.ok()) {
    std::cerr << paint_diagnostics(render_findings(rules.findings(), max_errors), 2);
    return kCouldNot;
  }
  Model& model = *loaded;  // set: the rules are sound
  std::optional<Model> reference_model;
  if (!reference.empty()) reference_model = read_model(reference);
  EvaluateOptions options{reference_model ? &*reference_model : nullptr};
  options.tensor_lists = false;  // the report is printed, never walked here
  if (explain_plan) {
    std::cout << evaluation_plan(rules, model, options);
    return kDone;
  }
  Report report = evaluate(rules, model, options);
  if (format == "json") {
    report.write_json(std::cout);
  } else {
    std::cout << paint_report(report.text(list_all), 1);
    std::cout.flush();
    std::cerr << paint_diagnostics(render_findings(report.findings, max_errors), 2);
  }
  return report.has_errors() ? kAnswerNo : kDone;
}

}  // namespace taxon::cli
