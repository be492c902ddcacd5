#include "engine/lint_dump.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/matcher.hpp"
#include "engine/value_expr.hpp"

namespace taxon {
namespace {

// Every class name the model's modules have or inherit from, short: what a `type` test can name.
std::set<std::string> class_names(const TensorTable& table) {
  std::set<std::string> out;
  for (const auto& [path, type] : table.modules)
    for_each_type_name(type, module_mro(table, path), false, [&](std::string_view name) {
      if (name.find('.') == std::string_view::npos) out.emplace(name);
    });
  return out;
}

class DeadAlternatives {
 public:
  DeadAlternatives(Matcher& matcher, const TensorTable& table, Diagnostics& out)
      : matcher_(matcher), table_(table), out_(out), classes_(class_names(table)) {}

  // Only what the rule's own file wrote: a binding imported from a file shared across models
  // (stdlib/no_weight_decay.tx names the tokens of many architectures) may list what one lacks.
  void check(const Predicate& predicate, Universe universe, const SourceSpan& rule) {
    universe_ = universe;
    file_ = rule.file ? rule.file->path : std::string();
    visit(predicate);
  }

 private:
  std::size_t count(const Predicate& predicate) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < table_.tensors.size(); ++i)
      if (in_universe(table_.tensors[i], universe_) && matcher_.matches(predicate, i)) ++n;
    return n;
  }

  void report(const Predicate& alternative, const std::string& text, const std::string& pattern) {
    if (!alternative.span.file || alternative.span.file->path != file_) return;
    std::string hint = "check it against the names `taxon eval --all` lists, or remove it";
    for (const auto& name : classes_)
      if (!pattern.empty() && (pattern == name || edit_distance(pattern, name) <= 1 ||
                               pattern.find(name) != std::string::npos)) {
        hint = fmt::format("'{}' looks like a module class, which tensor names do not hold: did you mean `type in {{{}}}` "
                           "(linnaeus YAML: {{TYPE: layer_type, LAYER_TYPES: [{}]}})?",
                           pattern, name, name);
        break;
      }
    out_.warning(code::dead_alternative, alternative.span,
                 fmt::format("{} matches no tensor of this model, while the rest of its `or` does", text), hint);
  }

  void visit(const Predicate& predicate) {
    if (const auto* any = std::get_if<AnyOf>(&predicate.node)) {
      if (any->terms.size() >= 2) {
        std::vector<std::size_t> counts;
        for (const auto& term : any->terms) counts.push_back(count(term));
        bool others = std::any_of(counts.begin(), counts.end(), [](std::size_t n) { return n > 0; });
        for (std::size_t k = 0; k < any->terms.size(); ++k)
          if (counts[k] == 0 && others && is_written_test(any->terms[k]) && !split_patterns(any->terms[k]))
            report(any->terms[k], "this alternative", pattern_of(any->terms[k]));
      }
      for (const auto& term : any->terms) visit(term);
    } else if (const auto* all = std::get_if<AllOf>(&predicate.node)) {
      for (const auto& term : all->terms) visit(term);
    } else if (const auto* negation = std::get_if<Not>(&predicate.node)) {
      visit(*negation->term);
    } else {
      split_patterns(predicate);
    }
  }

  // A test of several patterns (`name contains {"a", "b"}`) is an `or` of them: each is checked.
  // Returns whether it reported on one.
  bool split_patterns(const Predicate& predicate) {
    const auto* match = std::get_if<StringMatch>(&predicate.node);
    if (!match || match->patterns.size() < 2) return false;
    std::vector<std::size_t> counts;
    for (const auto& pattern : match->patterns)
      counts.push_back(count(Predicate{StringMatch{match->field, match->op, {pattern}}, predicate.span}));
    if (std::none_of(counts.begin(), counts.end(), [](std::size_t n) { return n > 0; })) return false;
    bool reported = false;
    for (std::size_t k = 0; k < counts.size(); ++k)
      if (counts[k] == 0) {
        report(predicate, fmt::format("the pattern \"{}\"", match->patterns[k]), match->patterns[k]);
        reported = true;
      }
    return reported;
  }

  // `trainable`/`frozen` and constants are states of the model, not tests that can be misspelt
  // (`exclude gradnorm` adds `or frozen` itself).
  static bool is_written_test(const Predicate& predicate) {
    return !std::holds_alternative<RequiresGrad>(predicate.node) && !std::holds_alternative<Constant>(predicate.node);
  }

  static std::string pattern_of(const Predicate& predicate) {
    const auto* match = std::get_if<StringMatch>(&predicate.node);
    return match && match->patterns.size() == 1 ? match->patterns.front() : std::string();
  }

  Matcher& matcher_;
  const TensorTable& table_;
  Diagnostics& out_;
  std::set<std::string> classes_;
  Universe universe_ = Universe::parameters;
  std::string file_;
};

bool is_weight_decay(const std::string& key) {
  std::string lower = key;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "weight_decay";
}

std::string value_text(const OptionValue* value) {
  if (!value) return "no weight_decay (the optimizer's default)";
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, double>) return fmt::format("{}", v);
        else if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::string>) return v;
        else return "null";
      },
      value->value);
}

void split_roles(const EvalResult& result, const TensorTable& table, Diagnostics& out) {
  if (!table.has_module_types) return;
  // The weight decay each parameter ends up with, from the first group it joined.
  std::map<std::size_t, std::pair<std::string, std::size_t>> decay_of;  // tensor -> (value, group)
  bool any_set = false;
  for (std::size_t g = 0; g < result.groups.size(); ++g) {
    const GroupResult& group = result.groups[g];
    const OptionValue* constant = nullptr;
    bool computed = false;
    for (const auto& option : group.options)
      if (is_weight_decay(option.key)) {
        if (option.computed) computed = true;
        else constant = &option.value;
      }
    any_set = any_set || constant || computed;
    for (std::size_t k = 0; k < group.tensors.size(); ++k) {
      const OptionValue* value = constant;
      if (computed && k < group.per_tensor.size())
        for (const auto& [key, v] : group.per_tensor[k].values)
          if (is_weight_decay(key)) value = &v;
      decay_of.try_emplace(group.tensors[k], value_text(value), g);
    }
  }
  if (!any_set) return;
  // role -> value -> tensors
  std::map<std::string, std::map<std::string, std::vector<std::size_t>>> roles;
  for (const auto& [tensor, decay] : decay_of) {
    const TensorRecord& record = table.tensors[tensor];
    if (record.module_type.empty()) continue;
    std::size_t dot = record.name.rfind('.');
    std::string_view leaf = dot == std::string_view::npos ? record.name : record.name.substr(dot + 1);
    roles[fmt::format("{}.{}", record.module_type, leaf)][decay.first].push_back(tensor);
  }
  for (const auto& [role, by_value] : roles) {
    if (by_value.size() < 2) continue;
    std::size_t total = 0;
    std::vector<std::pair<std::size_t, std::string>> sizes;
    for (const auto& [value, tensors] : by_value) {
      total += tensors.size();
      sizes.emplace_back(tensors.size(), value);
    }
    std::sort(sizes.begin(), sizes.end());  // the fewest first: the ones most likely missed
    std::vector<std::string> parts;
    for (const auto& [count, value] : sizes)
      parts.push_back(fmt::format("{} {} {}", count, count == 1 ? "gets" : "get",
                                  value.starts_with("no ") ? value : "weight_decay " + value));
    const auto& fewest = by_value.at(sizes.front().second);
    const GroupResult& group = result.groups[decay_of.at(fewest.front()).second];
    out.warning(code::split_role, group.span,
                fmt::format("tensors of one role get different weight decays: of {} {} tensors, {} (e.g. {} in {})", total,
                            role, fmt::join(parts, ", "), table.tensors[fewest.front()].name, group.name),
                fmt::format("a name filter that misses some of them? `type in {{{}}}` takes them all; if the split is "
                            "meant, say so with `# taxon: allow {}`",
                            role.substr(0, role.rfind('.')), code::split_role));
  }
}

void frozen_in_groups(const Program& program, const EvalResult& result, const TensorTable& table, Diagnostics& out) {
  if (!program.groups) return;
  const GroupSet& set = *program.groups;
  if (!set.frozen_join_groups) {
    std::map<std::string, std::vector<std::size_t>> by_rule;
    std::map<std::string, SourceSpan> spans;
    for (const auto& group : result.groups) {
      if (group.is_default || group.frozen.empty()) continue;
      auto& tensors = by_rule[group.rule];
      tensors.insert(tensors.end(), group.frozen.begin(), group.frozen.end());
      spans.emplace(group.rule, group.span);
    }
    for (auto& [rule, tensors] : by_rule) {
      std::sort(tensors.begin(), tensors.end());
      out.warning(code::frozen_in_group, spans.at(rule),
                  fmt::format("group {} names {} frozen parameter{}, which it leaves out: {}", rule, tensors.size(),
                              tensors.size() == 1 ? "" : "s", example_names(table, tensors)),
                  "frozen parameters never train; if they should, remove them from the `freeze` rule (or their "
                  "requires_grad: false)");
    }
    return;
  }
  for (const auto& group : result.groups) {
    std::vector<std::size_t> frozen;
    for (std::size_t tensor : group.tensors)
      if (!table.tensors[tensor].requires_grad) frozen.push_back(tensor);
    if (frozen.empty() || group.is_default) continue;
    out.warning(code::frozen_in_group, group.span,
                fmt::format("group {} holds {} frozen parameter{} (`keep frozen in groups`, as linnaeus does): {}", group.name,
                            frozen.size(), frozen.size() == 1 ? "" : "s", example_names(table, frozen)),
                "an optimizer built from it holds parameters that never train; add `and trainable` to its filter");
  }
}

}  // namespace

Diagnostics lint_on_table(const Program& program, const EvalResult& result, const TensorTable& table, const EvalOptions& options) {
  Diagnostics out;
  Matcher matcher(program, table, options);
  Diagnostics ignored;  // evaluation reported what the table cannot answer
  for (std::size_t s = 0; s < program.selections.size() && s < result.selections.size(); ++s)
    if (program.selections[s].freezes)
      for (std::size_t i : result.selections[s].tensors) matcher.freeze(i);
  DeadAlternatives dead(matcher, table, out);
  for (const auto& selection : program.selections) {
    matcher.prepare(selection.predicate, ignored);
    dead.check(selection.predicate, selection.universe, selection.span);
  }
  if (program.groups) {
    for (const auto& group : program.groups->groups) {
      matcher.prepare(group.predicate, ignored);
      dead.check(group.predicate, Universe::parameters, group.span);
    }
    for (const auto& rule : program.groups->set_rules) {
      matcher.prepare(rule.predicate, ignored);
      dead.check(rule.predicate, Universe::parameters, rule.span);
    }
  }
  split_roles(result, table, out);
  frozen_in_groups(program, result, table, out);
  return out;
}

}  // namespace taxon
