// What a group's parameters are given beyond membership: values of the whole model resolved
// (aggregates such as `max(i where ...)`), and `set` rules applied, splitting a group whose
// parameters end up with different options. Internal to the engine: evaluate and explain use it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "engine/compiled.hpp"
#include "engine/diagnostic.hpp"
#include "engine/evaluate.hpp"
#include "engine/ir.hpp"

namespace taxon {

class Matcher;

// Whether the program has an option whose value needs the model (an aggregate).
bool needs_model_values(const Program& program);

// The predicates the program's aggregates range over (`block` in `max(layer where block)`),
// pointing into `program`.
std::vector<const Predicate*> aggregate_predicates(const Program& program);

// The tensors an aggregate's predicate matches: every tensor of the table it matches, universes aside.
using AggregateMembers = std::function<Bitset(const Predicate&)>;

// `program` with every aggregate replaced by its value on this table, and every option that then
// depends on no capture folded to a constant. An aggregate over no tensor is T0408. `threads`
// as EvalOptions::threads.
Program resolve_model_values(const Program& program, Matcher& matcher, const TensorTable& table,
                             const AggregateMembers& members_of, unsigned threads, Diagnostics& diagnostics);

// T0408 for an option whose aggregate ranged over no tensor, where `tensor` takes it.
void report_empty_aggregate(const GroupOption& option, std::string_view tensor, Diagnostics& diagnostics);

// The set rules' options for one tensor, in file order: which rules applied (their labels, e.g.
// `layer_3`) and the options they leave it with, a later rule's value winning.
struct SetRuleValues {
  std::vector<std::string> labels;
  std::vector<GroupOption> options;  // constants, in the order first set
};
using SetRuleMatch = std::function<bool(std::size_t rule, std::size_t tensor)>;
SetRuleValues set_rule_values(const GroupSet& set, const SetRuleMatch& matches, const Matcher& matcher,
                              const TensorTable& table, std::size_t tensor, Diagnostics& diagnostics);

// Replaces each group of `result.groups` (one per declared group, the default last) by one group
// per distinct set of options its parameters get from the set rules, in order of their first
// tensor; a group no set rule touches stays as it is. `frozen[g]` are the frozen parameters
// group g left out: each is counted with the part it would have joined.
void split_by_set_rules(const GroupSet& set, const SetRuleMatch& matches, const Matcher& matcher, const TensorTable& table,
                        const std::vector<std::vector<std::size_t>>& frozen, EvalResult& result);

}  // namespace taxon
