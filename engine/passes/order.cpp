#include "engine/passes/order.hpp"

#include <algorithm>

namespace taxon {

int evaluation_cost(const Predicate& predicate) {
  return std::visit(
      [&](const auto& node) -> int {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Constant>) {
          return 0;
        } else if constexpr (std::is_same_v<Node, KindIs> || std::is_same_v<Node, RequiresGrad>) {
          return 1;
        } else if constexpr (std::is_same_v<Node, RankIn> || std::is_same_v<Node, ShapeIs> || std::is_same_v<Node, DtypeIn>) {
          return 2;
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          int per_pattern = node.op == MatchOp::equals ? 3 : node.op == MatchOp::contains ? 6 : node.op == MatchOp::regex ? 40 : 4;
          return per_pattern * static_cast<int>(std::max<std::size_t>(node.patterns.size(), 1));
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          return 8;
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          return 4 * static_cast<int>(std::max<std::size_t>(node.paths.size(), 1));
        } else if constexpr (std::is_same_v<Node, NewlyInitialized> || std::is_same_v<Node, StageIn>) {
          return 20;
        } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          int total = 1;
          for (const auto& term : node.terms) total += evaluation_cost(term);
          return total;
        } else if constexpr (std::is_same_v<Node, Not>) {
          return evaluation_cost(*node.term);
        }
      },
      predicate.node);
}

Predicate order_by_cost(const Predicate& predicate) {
  Predicate out = predicate;
  if (auto* all = std::get_if<AllOf>(&out.node)) {
    for (auto& term : all->terms) term = order_by_cost(term);
    std::stable_sort(all->terms.begin(), all->terms.end(),
                     [](const Predicate& a, const Predicate& b) { return evaluation_cost(a) < evaluation_cost(b); });
  } else if (auto* any = std::get_if<AnyOf>(&out.node)) {
    for (auto& term : any->terms) term = order_by_cost(term);
    std::stable_sort(any->terms.begin(), any->terms.end(),
                     [](const Predicate& a, const Predicate& b) { return evaluation_cost(a) < evaluation_cost(b); });
  } else if (auto* negated = std::get_if<Not>(&out.node)) {
    negated->term = Box<Predicate>(order_by_cost(*negated->term));
  }
  return out;
}

}  // namespace taxon
