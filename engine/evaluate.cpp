#include "engine/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "engine/compiled.hpp"
#include "engine/group_options.hpp"
#include "engine/matcher.hpp"
#include "engine/passes/optimize.hpp"
#include "engine/passes/predicate_key.hpp"
#include "engine/passes/order.hpp"
#include "engine/value_expr.hpp"

namespace taxon {
namespace {

std::string plural(std::size_t count, std::string_view word) {
  return fmt::format("{} {}{}", count, word, count == 1 ? "" : "s");
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

// The group results, empty, in the set's order; returns the default group's, which comes last.
GroupResult start_groups(const GroupSet& set, EvalResult& result) {
  result.has_groups = true;
  result.mode = set.mode;
  for (const auto& group : set.groups)
    result.groups.push_back({group.name, effective_options(group.options, set.inherited_options), {}, false, group.span, {}});
  return GroupResult{set.default_name, effective_options(set.default_options, set.inherited_options), {}, true,
                     set.default_span, {}};
}

// Frozen parameters are left out of groups unless the set keeps them (linnaeus); `frozen[g]` gets
// those group g would have taken, the default group's (last) those no group matched.
void evaluate_groups(const GroupSet& set, const Matcher& matcher, const TensorTable& table, EvalResult& result,
                     std::vector<std::vector<std::size_t>>& frozen) {
  GroupResult fallback = start_groups(set, result);
  frozen.assign(set.groups.size() + 1, {});

  std::vector<std::size_t> matched;
  for (std::size_t i = 0; i < table.tensors.size(); ++i) {
    const TensorRecord& tensor = table.tensors[i];
    if (!in_universe(tensor, Universe::parameters)) continue;
    matched.clear();
    if (set.enabled)
      for (std::size_t g = 0; g < set.groups.size(); ++g)
        if (matcher.matches(set.groups[g].predicate, i)) matched.push_back(g);

    std::size_t joined = set.mode == GroupMode::overlap ? matched.size() : std::min<std::size_t>(matched.size(), 1);
    if (!matcher.trainable(i) && (matched.empty() || !set.frozen_join_groups)) {  // frozen never reaches DEFAULT
      if (matched.empty()) frozen.back().push_back(i);
      for (std::size_t k = 0; k < joined; ++k) frozen[matched[k]].push_back(i);
      continue;
    }
    for (std::size_t k = 0; k < joined; ++k) result.groups[matched[k]].tensors.push_back(i);
    if (matched.size() >= 2) {
      Overlap overlap{i, {}, {}};
      for (std::size_t k = 0; k < matched.size(); ++k) {
        overlap.groups.push_back(matched[k]);
        if (k < joined) overlap.assigned.push_back(matched[k]);
      }
      result.overlaps.push_back(std::move(overlap));
    }
    if (matched.empty()) fallback.tensors.push_back(i);
  }
  result.groups.push_back(std::move(fallback));
}

// The same, from the compiled rules' bitsets: word-wide operations instead of
// one test per tensor and group. `first_root` is the first group's root.
void evaluate_groups_compiled(const GroupSet& set, CompiledRules& compiled, std::size_t first_root, const Matcher& matcher,
                              const TensorTable& table, EvalResult& result, std::vector<std::vector<std::size_t>>& frozen) {
  GroupResult fallback = start_groups(set, result);
  frozen.assign(set.groups.size() + 1, {});
  std::size_t count = table.tensors.size();
  Bitset universe(count, false), frozen_here(count, false);
  for (std::size_t i = 0; i < count; ++i)
    if (in_universe(table.tensors[i], Universe::parameters)) {
      universe.set(i);
      if (!matcher.trainable(i)) frozen_here.set(i);
    }
  Bitset candidates = set.frozen_join_groups ? universe : universe.and_not(frozen_here);
  Bitset once(count, false), twice(count, false), frozen_once(count, false);
  std::vector<Bitset> matched;
  if (set.enabled)
    for (std::size_t g = 0; g < set.groups.size(); ++g) {
      Bitset bits = compiled.root(first_root + g);
      if (!set.frozen_join_groups) {
        Bitset left_out = bits;
        left_out &= frozen_here;
        const Bitset& counted = set.mode == GroupMode::overlap ? left_out : left_out.and_not(frozen_once);
        counted.for_each([&](std::size_t i) { frozen[g].push_back(i); });
        frozen_once |= left_out;
      }
      bits &= candidates;
      Bitset again = bits;
      again &= once;
      twice |= again;
      const Bitset& joined = set.mode == GroupMode::overlap ? bits : bits.and_not(once);
      result.groups[g].tensors.reserve(joined.count());
      joined.for_each([&](std::size_t i) { result.groups[g].tensors.push_back(i); });
      once |= bits;
      matched.push_back(std::move(bits));
    }
  twice.for_each([&](std::size_t i) {
    Overlap overlap{i, {}, {}};
    for (std::size_t g = 0; g < matched.size(); ++g) {
      if (!matched[g].test(i)) continue;
      overlap.groups.push_back(g);
      if (set.mode == GroupMode::overlap || overlap.assigned.empty()) overlap.assigned.push_back(g);
    }
    result.overlaps.push_back(std::move(overlap));
  });
  universe.and_not(once).for_each([&](std::size_t i) {
    if (matcher.trainable(i)) fallback.tensors.push_back(i);  // frozen never reaches DEFAULT
    else if (!frozen_once.test(i)) frozen.back().push_back(i);
  });
  result.groups.push_back(std::move(fallback));
}

// What the compiled evaluator answers, in this order: selections, groups, set rules.
std::vector<const Predicate*> compiled_roots(const Program& program) {
  std::vector<const Predicate*> roots;
  for (const auto& selection : program.selections) roots.push_back(&selection.predicate);
  if (program.groups) {
    for (const auto& group : program.groups->groups) roots.push_back(&group.predicate);
    for (const auto& rule : program.groups->set_rules) roots.push_back(&rule.predicate);
  }
  return roots;
}

bool has_computed(const std::vector<GroupOption>& options) {
  return std::any_of(options.begin(), options.end(), [](const GroupOption& o) { return o.computed.has_value(); });
}

// Per-tensor values of computed options, from the captures of the group's regexes.
void compute_options(const Group& group, const Matcher& matcher, const TensorTable& table, GroupResult& result,
                     Diagnostics& diagnostics) {
  std::set<std::string> reported;
  Captures captured;
  for (std::size_t index : result.tensors) {
    captured.clear();
    matcher.captures(group.predicate, index, captured);
    TensorOptions values{index, {}};
    for (const auto& option : group.options) {
      if (!option.computed) continue;
      double value = evaluate_value(*option.computed, captured);
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

// Whether the predicate names the tensor itself: `name == "x"` / `name in {...}` (or the owning
// module's path) in a position where it must hold.
bool names_exactly(const Predicate& predicate, const TensorRecord& tensor) {
  return std::visit(
      [&](const auto& node) -> bool {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, StringMatch>) {
          if (node.op != MatchOp::equals || node.field == StringField::source) return false;
          std::string_view value = node.field == StringField::name ? tensor.name : tensor.module;
          return std::find(node.patterns.begin(), node.patterns.end(), value) != node.patterns.end();
        } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          return std::any_of(node.terms.begin(), node.terms.end(), [&](const Predicate& t) { return names_exactly(t, tensor); });
        } else {
          return false;
        }
      },
      predicate.node);
}

// First-match layering, specific then general (`head`, then `no_decay`, then `rest`), is how
// first-match files are written: an overlap is worth a word only where a later group loses
// something it names specifically: a tensor it names by its own name, or any tensor when it is
// narrower than the group that took them (general before specific).
bool loses_something_specific(const GroupSet& set, const std::vector<std::size_t>& positions,
                              const std::vector<std::size_t>& tensors, const std::vector<std::size_t>& matched,
                              const TensorTable& table, const EvalResult& result) {
  std::size_t winner = positions.front();
  for (std::size_t k = 1; k < positions.size(); ++k) {
    std::size_t loser = positions[k];
    if (result.groups[loser].tensors.empty()) continue;  // it gets nothing at all: T0502 says so
    if (matched[loser] < matched[winner]) return true;
    for (std::size_t tensor : tensors)
      if (names_exactly(set.groups[loser].predicate, table.tensors[tensor])) return true;
  }
  return false;
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
  for (const auto& overlap : result.overlaps) by_combination[overlap.groups].push_back(overlap.tensor);
  std::vector<std::size_t> matched(set.groups.size(), 0);  // parameters each group's filter matched, joined or not
  for (std::size_t g = 0; g < set.groups.size(); ++g) matched[g] = result.groups[g].tensors.size();
  for (const auto& overlap : result.overlaps)
    for (std::size_t g : overlap.groups)
      if (std::find(overlap.assigned.begin(), overlap.assigned.end(), g) == overlap.assigned.end()) ++matched[g];
  for (const auto& [positions, tensors] : by_combination) {
    if (set.mode == GroupMode::first_match && !loses_something_specific(set, positions, tensors, matched, table, result))
      continue;
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
  std::vector<bool> wanted(set.groups.size(), false);  // matched at least one parameter, joined or not
  for (const auto& overlap : result.overlaps)
    for (std::size_t g : overlap.groups) wanted[g] = true;
  for (std::size_t g = 0; g < set.groups.size(); ++g) {
    if (!result.groups[g].tensors.empty() || already_reported[g]) continue;
    if (wanted[g])
      result.diagnostics.warning(code::shadowed_group, set.groups[g].span,
                                 fmt::format("group {} gets no parameter: earlier groups take every one it matches",
                                             set.groups[g].name),
                                 "move it before the groups that take its parameters, or remove it");
    else
      result.diagnostics.warning(code::matches_nothing, set.groups[g].span,
                                 fmt::format("group {} matches no parameter", set.groups[g].name),
                                 "check its patterns against the names `taxon eval --all` lists");
  }
  // A declared default group says the fall-through is meant; only an implicit one is worth a word.
  const GroupResult& fallback = result.groups.back();
  if (!set.groups.empty() && !fallback.tensors.empty() && !set.default_position)
    result.diagnostics.warning(
        code::falls_to_default, set.default_span,
        fmt::format("{} fall through to {}: {}", plural(fallback.tensors.size(), "trainable parameter"),
                    set.default_name, example_names(table, fallback.tensors)),
        "if that is intended, declare the default group: a group without a filter, e.g. `group rest { }`");
}

}  // namespace

EvalResult evaluate(const Program& written, const TensorTable& table, const EvalOptions& options) {
  EvalResult result;
  Matcher matcher(written, table, options);
  // Optimized: the passes, then every rule compiled for the whole table at once, the predicates
  // the aggregates range over among them, so that one a rule shares (`max(layer where block)`
  // beside `set ... : block`) is answered once. `compiled` points into the optimized program and
  // into `written`: both outlive it. The passes change predicates only, not the options that
  // resolving the aggregates changes.
  std::optional<Program> optimized;
  std::unique_ptr<CompiledRules> compiled;
  std::unordered_map<std::string, std::size_t> aggregate_root;  // by predicate_key
  if (options.optimize) {
    optimized = optimize(written);
    std::vector<const Predicate*> roots = compiled_roots(*optimized);
    for (const Predicate* predicate : aggregate_predicates(written))
      if (aggregate_root.emplace(predicate_key(*predicate), roots.size()).second) roots.push_back(predicate);
    compiled = std::make_unique<CompiledRules>(roots, table, matcher);
  }
  AggregateMembers members_of = [&](const Predicate& predicate) {
    if (auto found = aggregate_root.find(predicate_key(predicate)); found != aggregate_root.end())
      return compiled->root(found->second);
    return CompiledRules({&predicate}, table, matcher).root(0);
  };
  // Values of the whole model (`max(i where ...)`) first: every rule after sees numbers.
  std::optional<Program> resolved;
  if (needs_model_values(written)) resolved = resolve_model_values(written, matcher, table, members_of, options.threads, result.diagnostics);
  const Program& program = resolved ? *resolved : written;
  // A rule that the table cannot fully answer has been reported already;
  // "matches nothing" would only repeat it.
  std::vector<bool> selection_reported, group_reported;
  for (const auto& selection : program.selections) {
    std::size_t before = result.diagnostics.items().size();
    matcher.prepare(selection.predicate, result.diagnostics);
    selection_reported.push_back(result.diagnostics.items().size() > before);
  }
  if (program.groups) {
    for (const auto& group : program.groups->groups) {
      std::size_t before = result.diagnostics.items().size();
      matcher.prepare(group.predicate, result.diagnostics);
      group_reported.push_back(result.diagnostics.items().size() > before);
    }
    for (const auto& rule : program.groups->set_rules) matcher.prepare(rule.predicate, result.diagnostics);
  }

  // Freeze rules first: what they select is frozen for every other rule.
  std::vector<std::vector<std::size_t>> selected_by(program.selections.size());
  auto run_selection = [&](std::size_t s) {
    const Selection& selection = program.selections[s];
    if (compiled) {
      selected_by[s].reserve(compiled->root(s).count());
      compiled->root(s).for_each([&](std::size_t i) {
        if (in_universe(table.tensors[i], selection.universe)) selected_by[s].push_back(i);
      });
      return;
    }
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (in_universe(table.tensors[i], selection.universe) && matcher.matches(selection.predicate, i))
        selected_by[s].push_back(i);
  };
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (program.selections[s].freezes) run_selection(s);
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (program.selections[s].freezes)
      for (std::size_t i : selected_by[s]) matcher.freeze(i);
  if (compiled) compiled->trainable_changed();
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
    const GroupSet& set = *program.groups;
    std::vector<std::vector<std::size_t>> frozen;
    std::size_t first_group = program.selections.size();
    if (compiled) evaluate_groups_compiled(set, *compiled, first_group, matcher, table, result, frozen);
    else evaluate_groups(set, matcher, table, result, frozen);
    for (std::size_t g = 0; g < set.groups.size(); ++g)
      if (has_computed(set.groups[g].options))
        compute_options(set.groups[g], matcher, table, result.groups[g], result.diagnostics);
    report_group_findings(set, table, group_reported, result);
    for (const auto& group : result.groups) {
      result.declared_groups.push_back(group.name);
      if (!group.tensors.empty())
        for (const auto& option : group.options)
          if (!option.empty_aggregate.empty())
            report_empty_aggregate(option, table.tensors[group.tensors.front()].name, result.diagnostics);
    }
    if (set.set_rules.empty()) {
      for (std::size_t g = 0; g < result.groups.size(); ++g) {
        result.groups[g].rule = result.groups[g].name;
        result.groups[g].frozen = std::move(frozen[g]);
      }
    } else {
      std::size_t first_rule = first_group + set.groups.size();
      SetRuleMatch matches = [&](std::size_t rule, std::size_t tensor) {
        return compiled ? compiled->root(first_rule + rule).test(tensor) : matcher.matches(set.set_rules[rule].predicate, tensor);
      };
      split_by_set_rules(set, matches, matcher, table, frozen, result);
    }
  }
  return result;
}

EvaluationPlan plan_evaluation(const Program& program, const TensorTable& table, const EvalOptions& options) {
  EvaluationPlan plan{optimize(program), {}, {}};
  Matcher matcher(program, table, options);
  std::vector<const Predicate*> roots = compiled_roots(plan.optimized);
  CompiledRules compiled(roots, table, matcher);
  for (std::size_t r = 0; r < roots.size(); ++r) {
    compiled.root(r);  // builds what answering needs (the DFA's states), so the description is of this table
    plan.costs.push_back(evaluation_cost(*roots[r]));
  }
  plan.compiled = compiled.describe();
  return plan;
}

}  // namespace taxon
