#include "engine/explain.hpp"

#include <algorithm>

#include "engine/matcher.hpp"

namespace taxon {
namespace {

std::map<std::string, std::string> captures_of(const Matcher& matcher, const Predicate& predicate, std::size_t tensor) {
  Captures captured;
  matcher.captures(predicate, tensor, captured);
  return captured.to_map();
}

ExplainNode trace(const Matcher& matcher, const Predicate& predicate, std::size_t tensor) {
  ExplainNode node{&predicate, matcher.matches(predicate, tensor), {}};
  if (const auto* all = std::get_if<AllOf>(&predicate.node))
    for (const auto& term : all->terms) node.children.push_back(trace(matcher, term, tensor));
  else if (const auto* any = std::get_if<AnyOf>(&predicate.node))
    for (const auto& term : any->terms) node.children.push_back(trace(matcher, term, tensor));
  else if (const auto* negation = std::get_if<Not>(&predicate.node))
    node.children.push_back(trace(matcher, *negation->term, tensor));
  return node;
}

bool contains(const std::vector<std::size_t>& tensors, std::size_t tensor) {
  return std::binary_search(tensors.begin(), tensors.end(), tensor);
}

// Whether the tensor joined a group made by the group statement `name` (any part of it).
bool joined_rule(const EvalResult& evaluation, const std::string& name, bool is_default, std::size_t tensor) {
  return std::any_of(evaluation.groups.begin(), evaluation.groups.end(), [&](const GroupResult& group) {
    return group.rule == name && group.is_default == is_default && contains(group.tensors, tensor);
  });
}

}  // namespace

ExplainResult explain(const Program& program, const TensorTable& table, std::size_t tensor, const EvalOptions& options) {
  ExplainResult out;
  while (table.tensors[tensor].tied_to) tensor = *table.tensors[tensor].tied_to;
  out.tensor = tensor;
  out.evaluation = evaluate(program, table, options);

  Matcher matcher(program, table, options);
  Diagnostics ignored;  // evaluate() above already reported them
  for (const auto& selection : program.selections) matcher.prepare(selection.predicate, ignored);
  if (program.groups)
    for (const auto& group : program.groups->groups) matcher.prepare(group.predicate, ignored);
  for (std::size_t s = 0; s < program.selections.size(); ++s)
    if (program.selections[s].freezes)
      for (std::size_t i : out.evaluation.selections[s].tensors) matcher.freeze(i);
  out.trainable = matcher.trainable(tensor);
  out.match_name = std::string(matcher.match_name(tensor));

  const TensorRecord& record = table.tensors[tensor];
  for (std::size_t s = 0; s < program.selections.size(); ++s) {
    const Selection& selection = program.selections[s];
    RuleVerdict verdict{selection.name, in_universe(record, selection.universe), false, trace(matcher, selection.predicate, tensor),
                        {}, false};
    verdict.matched = contains(out.evaluation.selections[s].tensors, tensor);
    out.selections.push_back(std::move(verdict));
  }
  if (program.groups) {
    const GroupSet& set = *program.groups;
    out.mode = set.mode;
    out.groups_enabled = set.enabled;
    for (std::size_t g = 0; g < set.groups.size(); ++g) {
      RuleVerdict verdict{set.groups[g].name, in_universe(record, Universe::parameters), false,
                          trace(matcher, set.groups[g].predicate, tensor), {}, false};
      verdict.matched = set.enabled && verdict.considered && verdict.tree.matched;
      verdict.joined = joined_rule(out.evaluation, set.groups[g].name, false, tensor);
      verdict.captures = captures_of(matcher, set.groups[g].predicate, tensor);
      out.groups.push_back(std::move(verdict));
    }
    RuleVerdict fallback{set.default_name, in_universe(record, Universe::parameters), false, {}, {}, false};
    fallback.joined = fallback.matched = joined_rule(out.evaluation, set.default_name, true, tensor);
    out.groups.push_back(std::move(fallback));
    for (const auto& rule : set.set_rules) {
      matcher.prepare(rule.predicate, ignored);
      RuleVerdict verdict{rule.name, in_universe(record, Universe::parameters), false, trace(matcher, rule.predicate, tensor),
                          {}, false};
      verdict.matched = verdict.considered && verdict.tree.matched;
      verdict.captures = captures_of(matcher, rule.predicate, tensor);
      out.set_rules.push_back(std::move(verdict));
    }
  }
  return out;
}

}  // namespace taxon
