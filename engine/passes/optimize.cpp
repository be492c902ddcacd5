#include "engine/passes/optimize.hpp"

#include "engine/passes/dedupe.hpp"
#include "engine/passes/flatten.hpp"
#include "engine/passes/fold.hpp"
#include "engine/passes/order.hpp"

namespace taxon {

Predicate optimize(const Predicate& predicate) { return order_by_cost(dedupe(flatten(fold(flatten(predicate))))); }

Program optimize(const Program& program) {
  Program out = program;
  for (auto& selection : out.selections) selection.predicate = optimize(selection.predicate);
  if (out.groups) {
    for (auto& group : out.groups->groups) group.predicate = optimize(group.predicate);
    for (auto& rule : out.groups->set_rules) rule.predicate = optimize(rule.predicate);
  }
  return out;
}

}  // namespace taxon
