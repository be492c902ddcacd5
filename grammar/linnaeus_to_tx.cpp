#include "grammar/linnaeus_to_tx.hpp"

#include <fmt/format.h>

#include "grammar/ir_to_tx.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon::tx {
namespace {

std::string options_text(const std::vector<GroupOption>& options, std::vector<std::string>& dropped) {
  std::string out;
  for (const auto& option : options) {
    auto value = to_value(option.value);
    if (!value) {
      dropped.push_back(option.key);
      continue;
    }
    out += (out.empty() ? "" : ", ") + print_name(option.key) + " = " + print_value(*value);
  }
  return "{ " + out + " }";
}

// linnaeus's GradNorm exclusion is `filter or frozen`; the language's
// `exclude gradnorm` adds `frozen` itself, so write only the filter.
const Predicate& without_frozen(const Predicate& predicate) {
  if (const auto* any = std::get_if<AnyOf>(&predicate.node))
    if (any->terms.size() == 2)
      if (const auto* grad = std::get_if<RequiresGrad>(&any->terms[1].node); grad && !grad->value) return any->terms[0];
  return predicate;
}

bool applied_default_exclusion(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics.items())
    if (d.code == code::default_applied) return true;
  return false;
}

}  // namespace

std::string linnaeus_to_tx(const SourceRef& yaml, Diagnostics& diagnostics) {
  // An anemoi config's freezing paths resolve as its generation does, from a root found in the
  // model, and its loads are anemoi's steps: the language has no words for either.
  auto document = yaml::parse_document(yaml, diagnostics);
  if (!document) return {};
  if (yaml::looks_like_anemoi(*document)) {
    diagnostics.error(code::unrecognised_document, SourceSpan{yaml, 1, 1, 1},
                      "this is an anemoi config, and `taxon convert` writes linnaeus configs as .tx",
                      "use the anemoi YAML as it is: `taxon eval CONFIG --dump MODEL`, `taxon apply CONFIG CHECKPOINT --target MODEL`");
    return {};
  }
  Program program = lower_linnaeus_yaml(yaml, diagnostics);
  if (diagnostics.has_errors()) return {};

  std::string out = fmt::format(
      "# Converted from {} by `taxon convert`.\n"
      "# linnaeus's implicit behaviour is written out below; `taxon eval` gives both files the same result.\n\n",
      yaml->path);
  if (program.strip_name_prefix)
    out += fmt::format("match names without \"{}\"  # linnaeus strips one leading DDP prefix before matching\n",
                       *program.strip_name_prefix);
  if (program.groups) {
    if (!program.groups->enabled)
      out += "mode off  # PARAMETER_GROUPS.ENABLED: false: every group stays empty, DEFAULT takes every parameter\n";
    else
      out += "mode overlap  # linnaeus gives a parameter to every group whose filter matches\n";
  }
  if (program.stage_map) {
    out += "\n# parameter_groups_metadata.stages: names match by `contains`; the last stage listed wins\nstages {\n";
    for (const auto& [stage, patterns] : program.stage_map->stages) {
      out += "  " + print_literal(Literal{Literal::Kind::string, stage, {}}) + ": {";
      for (std::size_t i = 0; i < patterns.size(); ++i)
        out += (i ? ", " : "") + print_literal(Literal{Literal::Kind::string, patterns[i], {}});
      out += "}\n";
    }
    out += "}\n";
  }

  std::vector<std::string> dropped;
  for (const auto& selection : program.selections) {
    out += "\n";
    if (selection.name == "gradnorm_exclude") {
      out += "# LOSS.GRAD_WEIGHTING.TASK: excluded from the GradNorm backbone (frozen parameters always are)\n";
      if (applied_default_exclusion(diagnostics)) out += "# (no EXCLUDE_CONFIG or EXCLUDE_PATTERNS: linnaeus's default)\n";
      out += "exclude gradnorm : " + print_expr(to_expr(without_frozen(selection.predicate))) + "\n";
    } else {
      out += "select " + print_name(selection.name) + " : " + print_expr(to_expr(selection.predicate)) + "\n";
    }
  }

  if (program.groups) {
    const GroupSet& set = *program.groups;
    out += "\n# OPTIMIZER.PARAMETER_GROUPS\n";
    out += "# linnaeus: a group without OPTIMIZER or WEIGHT_DECAY takes DEFAULT's, and LR_MULTIPLIER is 1.0\n";
    out += "defaults " + options_text(set.inherited_options, dropped) + "\n";
    if (set.frozen_join_groups) {
      out += "# linnaeus gives a group the frozen parameters its filter matches (DEFAULT never takes one)\n";
      out += "keep frozen in groups\n";
    }
    auto write_default = [&]() {
      out += "# takes every trainable parameter that no other group took\n";
      out += "group " + print_name(set.default_name) + " " + options_text(set.default_options, dropped) + "\n";
    };
    std::size_t default_at = set.default_position.value_or(set.groups.size());
    for (std::size_t g = 0; g <= set.groups.size(); ++g) {
      if (g == default_at) write_default();
      if (g == set.groups.size()) break;
      const Group& group = set.groups[g];
      out += "group " + print_name(group.name) + " : " + print_expr(to_expr(group.predicate));
      if (!group.options.empty()) out += " " + options_text(group.options, dropped);
      out += "\n";
    }
  }
  for (const auto& key : dropped)
    diagnostics.warning(code::not_convertible, SourceSpan{yaml, 0, 0, 1},
                        fmt::format("option {} holds a mapping, which the taxon language cannot write; it was left out", key),
                        "write it as separate options, or keep this group in YAML");

  // Canonical layout: the converted text is what `taxon fmt` would write.
  auto converted = std::make_shared<SourceFile>(SourceFile{yaml->path + ".tx", out});
  Diagnostics reparse;
  File file = parse(converted, reparse);
  if (reparse.has_errors()) {
    diagnostics.append(reparse);
    return {};
  }
  return print_file(file);
}

}  // namespace taxon::tx
