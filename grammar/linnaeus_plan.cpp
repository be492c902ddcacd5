// linnaeus's pretrained_ckpt_handling_metadata -> a checkpoint plan that does
// what linnaeus's load_pretrained does with it.
#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "engine/regex.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon::yaml {

std::optional<CheckpointPlan> linnaeus_pretrained_plan(const YAML::Node& metadata, const SourceSpan& span, Reader& reader) {
  if (!metadata.IsMap()) {
    reader.diagnostics().error(code::wrong_value_type, span,
                               fmt::format("pretrained_ckpt_handling_metadata must be a mapping, not {}", describe(metadata)),
                               "write `drop_params: [...]`, `drop_buffers: [...]`, `supports_module_prefix: true`, ...");
    return std::nullopt;
  }
  reader.check_keys(metadata, {"drop_params", "drop_buffers", "supports_module_prefix", "strict", "interpolate_rel_pos_bias"},
                    "pretrained_ckpt_handling_metadata");
  CheckpointPlan plan;
  plan.name = "load_pretrained";
  plan.span = span;
  plan.sources = {"model", "state_dict_ema", "state_dict", ""};  // linnaeus's order

  if (YAML::Node prefix = Reader::get(metadata, "supports_module_prefix"); prefix.IsDefined()) {
    OptionValue value = reader.option_value(prefix);
    if (const bool* flag = std::get_if<bool>(&value.value); flag && *flag)
      plan.steps.push_back(PlanStep{step::Strip{"module."}, reader.span(prefix)});
  }
  if (YAML::Node node = Reader::get(metadata, "drop_params"); node.IsDefined()) {
    if (auto patterns = reader.string_list(node, "drop_params")) {
      std::size_t index = 0;
      for (const auto& item : node) {
        // linnaeus: a pattern ending in '.' is searched as written (the dot then matches any
        // character); any other gets a trailing word boundary.
        std::string pattern = (*patterns)[index++];
        std::string regex = pattern.ends_with('.') ? pattern : pattern + "\\b";
        if (auto problem = check_regex(regex)) {
          reader.diagnostics().error(problem->code, reader.span(item), problem->message, problem->hint);
          continue;
        }
        plan.steps.push_back(PlanStep{step::Drop{Predicate{StringMatch{StringField::name, MatchOp::regex, {regex}}, reader.span(item)},
                                                 false, fmt::format("drop_params: {}", pattern)},
                                      reader.span(item)});
      }
    }
  }
  if (YAML::Node node = Reader::get(metadata, "drop_buffers"); node.IsDefined()) {
    if (auto patterns = reader.string_list(node, "drop_buffers"))
      if (!patterns->empty())
        plan.steps.push_back(PlanStep{step::Drop{Predicate{StringMatch{StringField::name, MatchOp::contains, *patterns}, reader.span(node)},
                                                 false, fmt::format("drop_buffers: {}", fmt::join(*patterns, ", "))},
                                      reader.span(node)});
  }
  if (YAML::Node node = Reader::get(metadata, "interpolate_rel_pos_bias"); node.IsDefined()) {
    OptionValue value = reader.option_value(node);
    if (const bool* flag = std::get_if<bool>(&value.value); flag && *flag) {
      Predicate tables{StringMatch{StringField::name, MatchOp::ends, {"relative_position_bias_table"}}, reader.span(node)};
      // linnaeus keeps row 0 (the class-token bias) and resizes the rest (utils/model_utils.py).
      std::vector<GroupOption> options{{"extra_rows", OptionValue{int64_t{1}}, reader.span(node)},
                                       {"extra_position", OptionValue{std::string("leading")}, reader.span(node)}};
      plan.steps.push_back(PlanStep{step::Transform{"resize", "rel_pos_bias", tables, std::move(options)}, reader.span(node)});
      plan.steps.push_back(PlanStep{step::Drop{Predicate{StringMatch{StringField::name, MatchOp::contains, {"relative_position_index"}},
                                                         reader.span(node)},
                                               false, "interpolate_rel_pos_bias: every relative_position_index"},
                                    reader.span(node)});
    }
  }
  if (YAML::Node prefix = Reader::get(metadata, "supports_module_prefix"); prefix.IsDefined()) {
    OptionValue value = reader.option_value(prefix);
    if (const bool* flag = std::get_if<bool>(&value.value); flag && *flag)
      plan.steps.push_back(PlanStep{step::Rewrap{"module."}, reader.span(prefix)});  // back on for a DDP-wrapped target
  }
  step::Load load;
  if (YAML::Node node = Reader::get(metadata, "strict"); node.IsDefined()) {
    OptionValue value = reader.option_value(node);
    if (const bool* flag = std::get_if<bool>(&value.value)) load.strict = *flag;
    else reader.diagnostics().error(code::wrong_value_type, reader.span(node), "strict must be true or false", "write `strict: false`");
  }
  plan.steps.push_back(PlanStep{load, span});
  return plan;
}

}  // namespace taxon::yaml
