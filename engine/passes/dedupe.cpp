#include "engine/passes/dedupe.hpp"

#include <set>

#include "engine/passes/predicate_key.hpp"

namespace taxon {
namespace {

template <typename T>
void unique_in_order(std::vector<T>& items) {
  std::set<T> seen;
  std::vector<T> kept;
  for (auto& item : items)
    if (seen.insert(item).second) kept.push_back(std::move(item));
  items = std::move(kept);
}

}  // namespace

Predicate dedupe(const Predicate& predicate) {
  Predicate out = predicate;
  std::visit(
      [&](auto& node) {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          std::set<std::string> seen;
          std::vector<Predicate> kept;
          for (const auto& term : node.terms) {
            Predicate unique = dedupe(term);
            if (seen.insert(predicate_key(unique)).second) kept.push_back(std::move(unique));
          }
          node.terms = std::move(kept);
        } else if constexpr (std::is_same_v<Node, Not>) {
          node.term = Box<Predicate>(dedupe(*node.term));
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          unique_in_order(node.patterns);
        } else if constexpr (std::is_same_v<Node, RankIn>) {
          unique_in_order(node.ranks);
        } else if constexpr (std::is_same_v<Node, DtypeIn>) {
          unique_in_order(node.dtypes);
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          unique_in_order(node.types);
        } else if constexpr (std::is_same_v<Node, StageIn>) {
          unique_in_order(node.stages);
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          unique_in_order(node.paths);
        }
      },
      out.node);
  return out;
}

}  // namespace taxon
