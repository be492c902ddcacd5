// A linnaeus YAML document -> Program: a root filter tree, or the parameter
// groups and GradNorm exclusion of a full linnaeus config.
#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "engine/option_keys.hpp"
#include "grammar/linnaeus_yaml.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon {
namespace {

using yaml::Reader;

// linnaeus's GradNorm default when a TASK section names no exclusion.
const std::vector<std::string> kDefaultExcludePatterns{"head", "meta_"};

std::optional<StageMap> stage_map(const YAML::Node& root, Reader& reader) {
  YAML::Node metadata = Reader::get(root, "parameter_groups_metadata");
  if (!metadata.IsDefined()) return std::nullopt;
  if (!metadata.IsMap()) {
    reader.diagnostics().error(code::wrong_value_type, reader.span(metadata),
                               fmt::format("parameter_groups_metadata must be a mapping, not {}", yaml::describe(metadata)),
                               "write `parameter_groups_metadata: {stages: {STAGE: [patterns]}}`");
    return std::nullopt;
  }
  YAML::Node stages = Reader::get(metadata, "stages");
  if (!stages.IsDefined()) {
    reader.missing_key(metadata, "stages", reader.key_span(root, "parameter_groups_metadata"), "parameter_groups_metadata", "write `stages: {STAGE: [patterns]}`");
    return std::nullopt;
  }
  if (!stages.IsMap()) {
    reader.diagnostics().error(code::wrong_value_type, reader.span(stages),
                               fmt::format("stages must map each stage to name patterns, not {}", yaml::describe(stages)),
                               "write `stages: {0: [\"stem\", \"stages.0\"], 1: [\"stages.1\"]}`");
    return std::nullopt;
  }
  StageMap map;
  for (auto it = stages.begin(); it != stages.end(); ++it) {
    auto stage = reader.scalar(it->first, "a stage name");
    auto patterns = reader.string_list(it->second, fmt::format("stage {}", stage.value_or("?")));
    if (stage && patterns) map.stages.emplace_back(*stage, std::move(*patterns));
  }
  return map;
}

// TYPE at the root, in any case (a lower-case `type` is then reported by
// the filter lowering, which names the spelling to use).
bool looks_like_filter_tree(const YAML::Node& root) {
  if (Reader::get(root, "OPTIMIZER").IsDefined() || Reader::get(root, "LOSS").IsDefined()) return false;
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it->first.IsScalar() && yaml::lowercase(it->first.Scalar()) == "type") return true;
  return false;
}

Selection filter_selection(const YAML::Node& root, Reader& reader) {
  Predicate predicate = yaml::lower_linnaeus_filter(root, reader);
  SourceSpan span = predicate.span;
  return Selection{"filter", std::move(predicate), Universe::parameters, span};
}

std::vector<GroupOption> options_of(const YAML::Node& group, Reader& reader, bool allow_filter) {
  std::vector<GroupOption> options;
  for (auto it = group.begin(); it != group.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    if (key == "FILTER") {
      if (!allow_filter)
        reader.diagnostics().warning(code::ignored_key, reader.span(it->first), "DEFAULT's FILTER is ignored",
                                     "DEFAULT takes every trainable parameter that no other group took");
      continue;
    }
    if (std::find(kLinnaeusOptionKeys.begin(), kLinnaeusOptionKeys.end(), key) == kLinnaeusOptionKeys.end()) {
      // linnaeus reads four keys from a group and passes nothing else on: a typo there changes nothing, silently.
      std::vector<std::string> known{"FILTER"};
      known.insert(known.end(), kLinnaeusOptionKeys.begin(), kLinnaeusOptionKeys.end());
      reader.diagnostics().warning(code::unknown_key, reader.span(it->first),
                                   fmt::format("linnaeus ignores `{}` in a parameter group; so does taxon", key),
                                   suggest(key, known, "a group takes FILTER, OPTIMIZER, WEIGHT_DECAY and LR_MULTIPLIER"));
      continue;
    }
    options.push_back(GroupOption{key, reader.option_value(it->second), reader.span(it->first)});
  }
  return options;
}

GroupSet parameter_groups(const YAML::Node& groups_node, const SourceSpan& span, Reader& reader) {
  GroupSet set;
  set.mode = GroupMode::overlap;  // linnaeus matches every group independently
  set.frozen_join_groups = true;  // and gives a group its frozen parameters too (only DEFAULT skips them)
  set.default_span = span;
  set.enabled_span = span;
  YAML::Node default_node;
  std::map<std::string, SourceSpan> seen;
  std::string previous;           // the entry before this one, and whether it held nothing
  bool previous_empty = false;
  for (auto it = groups_node.begin(); it != groups_node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& name = it->first.Scalar();
    SourceSpan name_span = reader.span(it->first);
    const std::string above = std::exchange(previous, name);
    const bool above_empty = std::exchange(previous_empty, it->second.IsNull());
    // A group's own key at the level of the groups: an indentation slip, not a group.
    if (name == "FILTER" || std::find(kLinnaeusOptionKeys.begin(), kLinnaeusOptionKeys.end(), name) != kLinnaeusOptionKeys.end()) {
      reader.diagnostics().error(
          code::missing_key, name_span,
          fmt::format("{} is a key of a parameter group, but stands among the groups", name),
          above_empty ? fmt::format("indent it under {}, the entry above, which holds nothing as written", above)
                      : "indent it under the group it belongs to");
      continue;
    }
    if (auto [first, inserted] = seen.emplace(name, name_span); !inserted) {
      reader.diagnostics().error(code::duplicate_name, name_span,
                                 fmt::format("{} is written twice in PARAMETER_GROUPS (first on line {}); PyYAML "
                                             "would silently keep only the last one",
                                             name, first->second.line),
                                 "merge the two entries or rename one");
      continue;
    }
    if (name == "ENABLED") {
      set.enabled_span = name_span;
      auto value = reader.option_value(it->second);
      if (const bool* enabled = std::get_if<bool>(&value.value)) set.enabled = *enabled;
      else
        reader.diagnostics().error(code::wrong_value_type, reader.span(it->second),
                                   fmt::format("ENABLED must be true or false, not {}", yaml::describe(it->second)),
                                   "write `ENABLED: true`");
      continue;
    }
    if (!it->second.IsMap()) continue;  // linnaeus skips every entry that is not a group
    if (name == "DEFAULT") {
      default_node = it->second;
      set.default_span = name_span;
      set.default_position = set.groups.size();
      continue;
    }
    YAML::Node filter = Reader::get(it->second, "FILTER");
    if (!filter.IsDefined()) {
      if (closest_match(name, {"DEFAULT"}) == "DEFAULT") {
        reader.diagnostics().error(code::missing_key, name_span,
                                   fmt::format("parameter group {} needs the key FILTER", name),
                                   "did you mean DEFAULT? (the entry without a filter, for every parameter no group takes)");
        continue;
      }
      reader.missing_key(it->second, "FILTER", name_span, fmt::format("parameter group {}", name),
                         "give the group a filter, e.g. `FILTER: {TYPE: name, PATTERNS: [\"head\"]}`");
      continue;
    }
    Predicate predicate = yaml::lower_linnaeus_filter(filter, reader);
    set.groups.push_back(Group{name, std::move(predicate), options_of(it->second, reader, true), name_span});
  }
  if (default_node.IsDefined()) set.default_options = options_of(default_node, reader, false);
  // linnaeus's resolution of a group's settings: OPTIMIZER and WEIGHT_DECAY
  // come from DEFAULT where the group has none; LR_MULTIPLIER defaults to 1.0.
  for (const auto& option : set.default_options)
    if (option.key == "OPTIMIZER" || option.key == "WEIGHT_DECAY") set.inherited_options.push_back(option);
  set.inherited_options.push_back(GroupOption{"LR_MULTIPLIER", OptionValue{1.0}, span});
  return set;
}

std::optional<Selection> gradnorm_exclusion(const YAML::Node& task, const SourceSpan& task_span, Reader& reader) {
  if (!task.IsMap()) return std::nullopt;
  Predicate exclude{Constant{false}, task_span};
  SourceSpan span = task_span;
  if (YAML::Node config = Reader::get(task, "EXCLUDE_CONFIG"); config.IsDefined() && !config.IsNull()) {
    exclude = yaml::lower_linnaeus_filter(config, reader);
    span = exclude.span;
  } else if (YAML::Node patterns_node = Reader::get(task, "EXCLUDE_PATTERNS"); patterns_node.IsDefined()) {
    auto patterns = reader.string_list(patterns_node, "EXCLUDE_PATTERNS");
    span = reader.span(patterns_node);
    exclude = Predicate{StringMatch{StringField::name, MatchOp::contains, patterns.value_or(std::vector<std::string>{})}, span};
  } else {
    reader.diagnostics().note(code::default_applied, task_span,
                              "no EXCLUDE_CONFIG or EXCLUDE_PATTERNS: linnaeus excludes names containing "
                              "\"head\" or \"meta_\" from GradNorm",
                              "write EXCLUDE_CONFIG to choose the excluded parameters yourself");
    exclude = Predicate{StringMatch{StringField::name, MatchOp::contains, kDefaultExcludePatterns}, task_span};
  }
  // Frozen parameters never take part in GradNorm.
  Predicate frozen{RequiresGrad{false}, span};
  return Selection{"gradnorm_exclude", Predicate{AnyOf{{std::move(exclude), std::move(frozen)}}, span}, Universe::parameters,
                   span};
}

}  // namespace

Program lower_linnaeus_yaml(const SourceRef& source, Diagnostics& diagnostics, std::vector<CheckpointPlan>* plans) {
  Program program;
  program.strip_name_prefix = "module.";  // linnaeus matches names without the DDP prefix
  auto document = yaml::parse_document(source, diagnostics);
  if (!document) return program;
  Reader reader(source, diagnostics);
  const YAML::Node& root = *document;
  SourceSpan root_span{source, 1, 1, 1};
  if (yaml::looks_like_anemoi(root)) {
    program.strip_name_prefix.reset();  // anemoi matches names exactly
    yaml::lower_anemoi(root, reader, program, plans);
    return program;
  }
  if (!root.IsMap()) {
    diagnostics.error(code::unrecognised_document, root_span,
                      fmt::format("expected a linnaeus filter tree or config, found {}", yaml::describe(root)),
                      "a filter tree is a mapping with TYPE; a config has OPTIMIZER.PARAMETER_GROUPS or "
                      "LOSS.GRAD_WEIGHTING.TASK");
    return program;
  }
  program.stage_map = stage_map(root, reader);

  if (looks_like_filter_tree(root)) {
    reader.tolerate_at(root, "parameter_groups_metadata");
    program.selections.push_back(filter_selection(root, reader));
    return program;
  }

  bool found = false;
  for (const YAML::Node& holder : {root, Reader::get(root, "MODEL")}) {
    for (const char* key : {"pretrained_ckpt_handling_metadata", "PRETRAINED_CKPT_HANDLING_METADATA"}) {
      YAML::Node metadata = Reader::get(holder, key);
      if (!metadata.IsDefined()) continue;
      found = true;
      auto plan = yaml::linnaeus_pretrained_plan(metadata, reader.key_span(holder, key), reader);
      if (plan && plans) plans->push_back(std::move(*plan));
    }
  }
  YAML::Node optimizer = Reader::get(root, "OPTIMIZER");
  if (YAML::Node groups = Reader::get(optimizer, "PARAMETER_GROUPS"); groups.IsDefined()) {
    found = true;
    if (groups.IsMap()) {
      program.groups = parameter_groups(groups, reader.key_span(optimizer, "PARAMETER_GROUPS"), reader);
    } else {
      diagnostics.error(code::wrong_value_type, reader.span(groups),
                        fmt::format("PARAMETER_GROUPS must be a mapping of groups, not {}", yaml::describe(groups)),
                        "write each group as `NAME: {FILTER: ..., WEIGHT_DECAY: ...}`");
    }
  }
  YAML::Node weighting = Reader::get(Reader::get(root, "LOSS"), "GRAD_WEIGHTING");
  if (YAML::Node task = Reader::get(weighting, "TASK"); task.IsDefined()) {
    found = true;
    if (auto selection = gradnorm_exclusion(task, reader.key_span(weighting, "TASK"), reader))
      program.selections.push_back(std::move(*selection));
  }
  if (!found)
    diagnostics.error(code::unrecognised_document, root_span,
                      "found no filter tree (TYPE at the root), no OPTIMIZER.PARAMETER_GROUPS, no "
                      "LOSS.GRAD_WEIGHTING.TASK and no pretrained_ckpt_handling_metadata",
                      "give a linnaeus filter tree or a linnaeus config that sets parameter groups");
  return program;
}

}  // namespace taxon
