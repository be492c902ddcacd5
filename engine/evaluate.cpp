#include "engine/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "engine/regex.hpp"
#include "engine/value_expr.hpp"

namespace taxon {
namespace {

constexpr std::size_t kExamplesInMessage = 3;

std::string example_names(const TensorTable& table, const std::vector<std::size_t>& indices) {
  std::string out;
  for (std::size_t i = 0; i < std::min(indices.size(), kExamplesInMessage); ++i) {
    if (i > 0) out += ", ";
    out += table.tensors[indices[i]].name;
  }
  if (indices.size() > kExamplesInMessage) out += ", ...";
  return out;
}

std::string plural(std::size_t count, std::string_view word) {
  return fmt::format("{} {}{}", count, word, count == 1 ? "" : "s");
}

// Everything a predicate needs that is computed once per table, not per tensor.
class Matcher {
 public:
  Matcher(const Program& program, const TensorTable& table, const EvalOptions& options)
      : table_(table), reference_(options.reference) {
    stage_map_ = program.stage_map ? &*program.stage_map : (table.stage_map ? &*table.stage_map : nullptr);
    match_names_.reserve(table.tensors.size());
    for (const auto& tensor : table.tensors) {
      std::string_view name = tensor.name;
      if (program.strip_name_prefix && name.starts_with(*program.strip_name_prefix))
        name.remove_prefix(program.strip_name_prefix->size());
      match_names_.push_back(name);
    }
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (auto first = table.tensors[i].tied_to) alias_owner_types_[*first].push_back(table.tensors[i].module_type);
    frozen_by_rule_.assign(table.tensors.size(), false);
  }

  // Compiles regexes and reports what the table cannot answer, once per rule.
  void prepare(const Predicate& predicate, Diagnostics& diagnostics) {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, StringMatch>) {
            if (node.op == MatchOp::regex)
              for (const auto& pattern : node.patterns) compile(pattern, predicate.span, diagnostics);
          } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
            if (!table_.has_module_types)
              diagnostics.error(code::needs_module_types, predicate.span,
                                "this rule needs module types, and the tensors evaluated have none",
                                "give a model dump (with \"modules\" and \"module_type\"), not a checkpoint's dump");
          } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
            check_module_paths(node, predicate.span, diagnostics);
          } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
            if (!reference_)
              diagnostics.warning(code::no_reference, predicate.span,
                                  "no reference checkpoint: every tensor counts as newly initialized",
                                  "pass --reference with a model dump of the pretrained checkpoint to compare names and shapes");
          } else if constexpr (std::is_same_v<Node, StageIn>) {
            if (!stage_map_)
              diagnostics.warning(code::no_stage_map, predicate.span,
                                  "no stage map: this stage_based rule matches nothing",
                                  "add `parameter_groups_metadata: {stages: {STAGE: [patterns]}}` to the rule file "
                                  "or the model dump");
          } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
            for (const auto& term : node.terms) prepare(term, diagnostics);
          } else if constexpr (std::is_same_v<Node, Not>) {
            prepare(*node.term, diagnostics);
          }
        },
        predicate.node);
  }

  // requires_grad, after the program's freeze rules.
  bool trainable(std::size_t index) const { return table_.tensors[index].requires_grad && !frozen_by_rule_[index]; }
  void freeze(std::size_t index) { frozen_by_rule_[index] = true; }

  // The named captures the predicate's regexes bind for this tensor (those
  // under `not` never bind); the first binding of a name wins.
  void captures(const Predicate& predicate, std::size_t index, std::map<std::string, std::string>& out) const {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, StringMatch>) {
            if (node.op != MatchOp::regex) return;
            std::string_view subject =
                node.field == StringField::name ? match_names_[index] : std::string_view(table_.tensors[index].module);
            for (const auto& pattern : node.patterns) {
              auto found = regexes_.find(pattern);
              if (found == regexes_.end() || !found->second) continue;
              const RE2& re = *found->second;
              std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
              if (!re.Match(re2::StringPiece(subject.data(), subject.size()), 0, subject.size(), RE2::UNANCHORED,
                            groups.data(), static_cast<int>(groups.size())))
                continue;
              for (const auto& [name, group] : re.NamedCapturingGroups())
                if (groups[static_cast<std::size_t>(group)].data())
                  out.emplace(name, std::string(groups[static_cast<std::size_t>(group)]));
            }
          } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
            for (const auto& term : node.terms) captures(term, index, out);
          }
        },
        predicate.node);
  }

  bool matches(const Predicate& predicate, std::size_t index) const {
    const TensorRecord& tensor = table_.tensors[index];
    return std::visit(
        [&](const auto& node) -> bool {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, Constant>) {
            return node.value;
          } else if constexpr (std::is_same_v<Node, StringMatch>) {
            std::string_view subject = node.field == StringField::name ? match_names_[index]
                                                                       : std::string_view(tensor.module);
            return std::any_of(node.patterns.begin(), node.patterns.end(),
                               [&](const std::string& pattern) { return string_matches(node.op, subject, pattern); });
          } else if constexpr (std::is_same_v<Node, RankIn>) {
            return std::find(node.ranks.begin(), node.ranks.end(), static_cast<int64_t>(tensor.rank())) !=
                   node.ranks.end();
          } else if constexpr (std::is_same_v<Node, ShapeIs>) {
            if (node.dims.size() != tensor.shape.size()) return false;
            for (std::size_t d = 0; d < node.dims.size(); ++d)
              if (node.dims[d] && *node.dims[d] != tensor.shape[d]) return false;
            return true;
          } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
            return std::any_of(node.paths.begin(), node.paths.end(), [&](const std::string& path) {
              return path.empty() || tensor.module == path ||
                     (tensor.module.size() > path.size() && tensor.module.starts_with(path) && tensor.module[path.size()] == '.');
            });
          } else if constexpr (std::is_same_v<Node, DtypeIn>) {
            return std::find(node.dtypes.begin(), node.dtypes.end(), tensor.dtype) != node.dtypes.end();
          } else if constexpr (std::is_same_v<Node, KindIs>) {
            return tensor.kind == node.kind;
          } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
            return owner_type_in(index, node.types);
          } else if constexpr (std::is_same_v<Node, RequiresGrad>) {
            return trainable(index) == node.value;
          } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
            if (!reference_) return true;
            auto found = reference_->shapes.find(std::string(match_names_[index]));
            return found == reference_->shapes.end() || found->second != tensor.shape;
          } else if constexpr (std::is_same_v<Node, StageIn>) {
            if (!stage_map_) return false;
            auto stage = stage_map_->stage_of(match_names_[index]);
            return stage && std::find(node.stages.begin(), node.stages.end(), *stage) != node.stages.end();
          } else if constexpr (std::is_same_v<Node, AllOf>) {
            return std::all_of(node.terms.begin(), node.terms.end(),
                               [&](const Predicate& term) { return matches(term, index); });
          } else if constexpr (std::is_same_v<Node, AnyOf>) {
            return std::any_of(node.terms.begin(), node.terms.end(),
                               [&](const Predicate& term) { return matches(term, index); });
          } else if constexpr (std::is_same_v<Node, Not>) {
            return !matches(*node.term, index);
          }
        },
        predicate.node);
  }

 private:
  bool string_matches(MatchOp op, std::string_view subject, const std::string& pattern) const {
    switch (op) {
      case MatchOp::equals: return subject == pattern;
      case MatchOp::starts: return subject.starts_with(pattern);
      case MatchOp::ends: return subject.ends_with(pattern);
      case MatchOp::contains: return subject.find(pattern) != std::string_view::npos;
      case MatchOp::regex: {
        auto found = regexes_.find(pattern);
        return found != regexes_.end() && found->second &&
               RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *found->second);
      }
    }
    return false;
  }

  bool owner_type_in(std::size_t index, const std::vector<std::string>& types) const {
    auto in_types = [&](const std::string& type) {
      return !type.empty() && std::find(types.begin(), types.end(), type) != types.end();
    };
    if (in_types(table_.tensors[index].module_type)) return true;
    auto aliases = alias_owner_types_.find(index);
    return aliases != alias_owner_types_.end() && std::any_of(aliases->second.begin(), aliases->second.end(), in_types);
  }

  // A path that names no module is a typo more often than not (anemoi's
  // freeze lists): say so, with the closest module paths.
  void check_module_paths(const ModuleUnder& node, const SourceSpan& span, Diagnostics& diagnostics) {
    if (table_.modules.empty()) return;
    for (const auto& path : node.paths) {
      bool found = std::any_of(table_.modules.begin(), table_.modules.end(),
                               [&](const auto& module) { return module.first == path; });
      if (found) continue;
      std::vector<std::string> paths;
      for (const auto& module : table_.modules) paths.push_back(module.first);
      std::string suggestion = closest_match(path, paths);
      diagnostics.error(code::unknown_module, span, fmt::format("no module is named '{}'", path),
                        suggestion.empty() ? "module paths are dotted, as named_modules() gives them: encoder, processor.0"
                                           : fmt::format("did you mean '{}'?", suggestion));
    }
  }

  void compile(const std::string& pattern, const SourceSpan& span, Diagnostics& diagnostics) {
    if (regexes_.contains(pattern)) return;
    std::string error;
    auto compiled = compile_regex(pattern, error);
    if (!compiled) diagnostics.error(code::invalid_regex, span, fmt::format("invalid regex /{}/: {}", pattern, error));
    regexes_.emplace(pattern, std::move(compiled));
  }

  const TensorTable& table_;
  const ReferenceShapes* reference_;
  const StageMap* stage_map_ = nullptr;
  std::vector<std::string_view> match_names_;
  std::unordered_map<std::size_t, std::vector<std::string>> alias_owner_types_;
  std::unordered_map<std::string, std::shared_ptr<const RE2>> regexes_;
  std::vector<bool> frozen_by_rule_;
};

bool in_universe(const TensorRecord& tensor, Universe universe) {
  if (tensor.tied_to) return false;  // selections see a tied tensor once, under its first name
  return universe == Universe::all_tensors || tensor.kind == TensorKind::parameter;
}

bool has_option(const std::vector<GroupOption>& options, std::string_view key) {
  return std::any_of(options.begin(), options.end(), [&](const GroupOption& o) { return o.key == key; });
}

std::vector<GroupOption> effective_options(const std::vector<GroupOption>& own, const std::vector<GroupOption>& inherited) {
  std::vector<GroupOption> out = own;
  for (const auto& option : inherited)
    if (!has_option(out, option.key)) out.push_back(option);
  return out;
}

void evaluate_groups(const GroupSet& set, const Matcher& matcher, const TensorTable& table, EvalResult& result) {
  result.has_groups = true;
  result.mode = set.mode;
  for (const auto& group : set.groups)
    result.groups.push_back({group.name, effective_options(group.options, set.inherited_options), {}, false, group.span});
  GroupResult fallback{set.default_name, effective_options(set.default_options, set.inherited_options), {}, true,
                       set.default_span};

  std::vector<std::size_t> matched;
  for (std::size_t i = 0; i < table.tensors.size(); ++i) {
    const TensorRecord& tensor = table.tensors[i];
    if (!in_universe(tensor, Universe::parameters)) continue;
    matched.clear();
    if (set.enabled)
      for (std::size_t g = 0; g < set.groups.size(); ++g)
        if (matcher.matches(set.groups[g].predicate, i)) matched.push_back(g);

    std::size_t joined = set.mode == GroupMode::overlap ? matched.size() : std::min<std::size_t>(matched.size(), 1);
    for (std::size_t k = 0; k < joined; ++k) result.groups[matched[k]].tensors.push_back(i);
    if (matched.size() >= 2) {
      Overlap overlap{i, {}, {}};
      for (std::size_t k = 0; k < matched.size(); ++k) {
        overlap.groups.push_back(set.groups[matched[k]].name);
        if (k < joined) overlap.assigned.push_back(set.groups[matched[k]].name);
      }
      result.overlaps.push_back(std::move(overlap));
    }
    if (matched.empty() && matcher.trainable(i)) fallback.tensors.push_back(i);  // frozen never reaches DEFAULT
  }
  result.groups.push_back(std::move(fallback));
}

bool has_computed(const std::vector<GroupOption>& options) {
  return std::any_of(options.begin(), options.end(), [](const GroupOption& o) { return o.computed.has_value(); });
}

// Per-tensor values of computed options, from the captures of the group's regexes.
void compute_options(const Group& group, const Matcher& matcher, const TensorTable& table, GroupResult& result,
                     Diagnostics& diagnostics) {
  std::set<std::string> reported;
  for (std::size_t index : result.tensors) {
    std::map<std::string, std::string> captured;
    matcher.captures(group.predicate, index, captured);
    std::map<std::string, double> numbers;
    for (const auto& [name, text] : captured) {
      char* end = nullptr;
      double value = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size()) numbers[name] = value;
    }
    TensorOptions values{index, {}};
    for (const auto& option : group.options) {
      if (!option.computed) continue;
      double value = evaluate_value(*option.computed, numbers);
      if (std::isnan(value)) {
        values.values.emplace_back(option.key, OptionValue{});
        if (reported.insert(option.key).second)
          diagnostics.error(code::capture_not_number, option.span,
                            fmt::format("{} = {} has no value for {}: a capture it uses did not match a number",
                                        option.key, option.computed_text, table.tensors[index].name),
                            "make the capture match digits only, e.g. (?P<i>\\d+)");
        continue;
      }
      values.values.emplace_back(option.key, OptionValue{value});
    }
    result.per_tensor.push_back(std::move(values));
  }
}

void report_group_findings(const GroupSet& set, const TensorTable& table, const std::vector<bool>& already_reported,
                           EvalResult& result) {
  if (!set.enabled) {
    result.diagnostics.note(code::groups_disabled, set.enabled_span,
                            fmt::format("parameter groups are disabled: {} holds every trainable parameter",
                                        set.default_name));
    return;
  }
  // One warning per distinct combination of groups, in file order, at the
  // last group involved.
  std::map<std::vector<std::size_t>, std::vector<std::size_t>> by_combination;
  auto position_of = [&](const std::string& name) {
    for (std::size_t g = 0; g < set.groups.size(); ++g)
      if (set.groups[g].name == name) return g;
    return set.groups.size();
  };
  for (const auto& overlap : result.overlaps) {
    std::vector<std::size_t> positions;
    for (const auto& name : overlap.groups) positions.push_back(position_of(name));
    by_combination[positions].push_back(overlap.tensor);
  }
  for (const auto& [positions, tensors] : by_combination) {
    std::vector<std::string> names;
    for (std::size_t g : positions) names.push_back(set.groups[g].name);
    std::string hint = set.mode == GroupMode::overlap
                           ? "in overlap mode each of them joins every one of these groups (an optimizer sees it "
                             "twice); make the filters disjoint, e.g. with `not`"
                           : fmt::format("first-match mode gives each of them to {} only", names.front());
    result.diagnostics.warning(code::group_overlap, set.groups[positions.back()].span,
                               fmt::format("{} matched by several groups ({}): {}", plural(tensors.size(), "tensor"),
                                           fmt::join(names, ", "), example_names(table, tensors)),
                               hint);
  }
  for (std::size_t g = 0; g < set.groups.size(); ++g)
    if (result.groups[g].tensors.empty() && !already_reported[g])
      result.diagnostics.warning(code::matches_nothing, set.groups[g].span,
                                 fmt::format("group {} matches no parameter", set.groups[g].name),
                                 "check its patterns against the names `taxon eval --all` lists");
  const GroupResult& fallback = result.groups.back();
  if (!set.groups.empty() && !fallback.tensors.empty())
    result.diagnostics.warning(
        code::falls_to_default, set.default_span,
        fmt::format("{} fall through to {}: {}", plural(fallback.tensors.size(), "trainable parameter"),
                    set.default_name, example_names(table, fallback.tensors)),
        "if that is intended, say so with a group whose filter names them");
}

}  // namespace

EvalResult evaluate(const Program& program, const TensorTable& table, const EvalOptions& options) {
  EvalResult result;
  Matcher matcher(program, table, options);
  // A rule that the table cannot fully answer has been reported already;
  // "matches nothing" would only repeat it.
  std::vector<bool> selection_reported, group_reported;
  for (const auto& selection : program.selections) {
    std::size_t before = result.diagnostics.items().size();
    matcher.prepare(selection.predicate, result.diagnostics);
    selection_reported.push_back(result.diagnostics.items().size() > before);
  }
  if (program.groups)
    for (const auto& group : program.groups->groups) {
      std::size_t before = result.diagnostics.items().size();
      matcher.prepare(group.predicate, result.diagnostics);
      group_reported.push_back(result.diagnostics.items().size() > before);
    }

  // Freeze rules first: what they select is frozen for every other rule.
  std::vector<std::vector<std::size_t>> selected_by(program.selections.size());
  auto run_selection = [&](std::size_t s) {
    const Selection& selection = program.selections[s];
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (in_universe(table.tensors[i], selection.universe) && matcher.matches(selection.predicate, i))
        selected_by[s].push_back(i);
  };
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (program.selections[s].freezes) run_selection(s);
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (program.selections[s].freezes)
      for (std::size_t i : selected_by[s]) matcher.freeze(i);
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (!program.selections[s].freezes) run_selection(s);

  for (std::size_t s = 0; s < program.selections.size(); ++s) {
    const Selection& selection = program.selections[s];
    SelectionResult selected{selection.name, std::move(selected_by[s]), selection.span};
    if (selected.tensors.empty() && !selection_reported[s])
      result.diagnostics.warning(code::matches_nothing, selection.span,
                                 fmt::format("selection {} matches no tensor", selection.name),
                                 "check its patterns against the names `taxon eval --all` lists");
    result.selections.push_back(std::move(selected));
  }
  if (program.groups) {
    evaluate_groups(*program.groups, matcher, table, result);
    for (std::size_t g = 0; g < program.groups->groups.size(); ++g)
      if (has_computed(program.groups->groups[g].options))
        compute_options(program.groups->groups[g], matcher, table, result.groups[g], result.diagnostics);
    report_group_findings(*program.groups, table, group_reported, result);
  }
  return result;
}

}  // namespace taxon
