#include "engine/passes/flatten.hpp"

#include <map>
#include <tuple>

namespace taxon {
namespace {

template <typename Combination>
std::vector<Predicate> spliced_terms(const Combination& node) {
  std::vector<Predicate> terms;
  for (const auto& term : node.terms) {
    Predicate flat = flatten(term);
    if (auto* same = std::get_if<Combination>(&flat.node))
      for (auto& inner : same->terms) terms.push_back(std::move(inner));
    else
      terms.push_back(std::move(flat));
  }
  return terms;
}

// Under an `or`: one set per (field, operator) for string tests, one each for
// dtypes, module types (exact and not) and stages, in the place of the first of them.
std::vector<Predicate> merge_sets(std::vector<Predicate> terms) {
  std::vector<Predicate> out;
  std::map<std::tuple<int, int, int>, std::size_t> first;  // (kind, field, op) -> position in `out`
  auto append = [](auto& into, const auto& from) { into.insert(into.end(), from.begin(), from.end()); };
  for (auto& term : terms) {
    std::tuple<int, int, int> key{-1, 0, 0};
    if (const auto* s = std::get_if<StringMatch>(&term.node)) key = {0, static_cast<int>(s->field), static_cast<int>(s->op)};
    else if (std::holds_alternative<DtypeIn>(term.node)) key = {1, 0, 0};
    else if (const auto* t = std::get_if<ModuleTypeIn>(&term.node)) key = {2, t->exact ? 1 : 0, 0};  // `is` and `in` apart
    else if (std::holds_alternative<StageIn>(term.node)) key = {3, 0, 0};
    auto found = std::get<0>(key) < 0 ? first.end() : first.find(key);
    if (found == first.end()) {
      if (std::get<0>(key) >= 0) first.emplace(key, out.size());
      out.push_back(std::move(term));
      continue;
    }
    auto& into = out[found->second].node;
    if (auto* s = std::get_if<StringMatch>(&into)) append(s->patterns, std::get<StringMatch>(term.node).patterns);
    else if (auto* d = std::get_if<DtypeIn>(&into)) append(d->dtypes, std::get<DtypeIn>(term.node).dtypes);
    else if (auto* t = std::get_if<ModuleTypeIn>(&into)) append(t->types, std::get<ModuleTypeIn>(term.node).types);
    else if (auto* st = std::get_if<StageIn>(&into)) append(st->stages, std::get<StageIn>(term.node).stages);
  }
  return out;
}

}  // namespace

Predicate flatten(const Predicate& predicate) {
  return std::visit(
      [&](const auto& node) -> Predicate {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          std::vector<Predicate> terms = spliced_terms(node);
          if constexpr (std::is_same_v<Node, AnyOf>) terms = merge_sets(std::move(terms));
          if (terms.size() == 1) return std::move(terms.front());
          return Predicate{Node{std::move(terms)}, predicate.span};
        } else if constexpr (std::is_same_v<Node, Not>) {
          return Predicate{Not{flatten(*node.term)}, predicate.span};
        } else {
          return predicate;
        }
      },
      predicate.node);
}

}  // namespace taxon
