#include "engine/passes/predicate_key.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace taxon {
namespace {

template <typename T>
std::string sorted_list(std::vector<T> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  std::string out;
  for (const auto& item : items) {
    if constexpr (std::is_same_v<T, std::string>) out += fmt::format("{}:{},", item.size(), item);  // length-prefixed: no escaping needed
    else out += fmt::format("{},", item);
  }
  return out;
}

}  // namespace

std::string predicate_key(const Predicate& predicate) {
  return std::visit(
      [&](const auto& node) -> std::string {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Constant>) {
          return node.value ? "T" : "F";
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          return fmt::format("S{}{}[{}]", static_cast<int>(node.field), static_cast<int>(node.op), sorted_list(node.patterns));
        } else if constexpr (std::is_same_v<Node, RankIn>) {
          return fmt::format("R[{}]", sorted_list(node.ranks));
        } else if constexpr (std::is_same_v<Node, ShapeIs>) {
          std::string out = "H[";
          for (const auto& dim : node.dims) out += dim ? fmt::format("{},", *dim) : "_,";
          return out + "]";
        } else if constexpr (std::is_same_v<Node, DtypeIn>) {
          return fmt::format("D[{}]", sorted_list(node.dtypes));
        } else if constexpr (std::is_same_v<Node, KindIs>) {
          return fmt::format("K{}", static_cast<int>(node.kind));
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          return fmt::format("Y{}[{}]", node.exact ? "=" : "", sorted_list(node.types));
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          return fmt::format("U{}{}{}[{}]({})", node.unknown_is_error ? 1 : 0, static_cast<int>(node.semantics),
                             node.stops_at_unknown ? "s" : "", node.stops_at_unknown ? fmt::format("{}", fmt::join(node.paths, ",")) : sorted_list(node.paths),
                             fmt::join(node.roots, ","));
        } else if constexpr (std::is_same_v<Node, RequiresGrad>) {
          return node.value ? "G1" : "G0";
        } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
          return "N";
        } else if constexpr (std::is_same_v<Node, StageIn>) {
          return fmt::format("P[{}]", sorted_list(node.stages));
        } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          std::vector<std::string> terms;  // and/or commute: their terms' order does not matter
          for (const auto& term : node.terms) terms.push_back(predicate_key(term));
          return (std::is_same_v<Node, AllOf> ? "A(" : "O(") + sorted_list(terms) + ")";
        } else if constexpr (std::is_same_v<Node, Not>) {
          return "!(" + predicate_key(*node.term) + ")";
        }
      },
      predicate.node);
}

}  // namespace taxon
