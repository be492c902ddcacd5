#include "engine/passes/fold.hpp"

#include <algorithm>
#include <set>

namespace taxon {
namespace {

Predicate constant(bool value, const SourceSpan& span) { return Predicate{Constant{value}, span}; }

template <typename Combination>
Predicate fold_combination(const Combination& node, const SourceSpan& span) {
  constexpr bool is_all = std::is_same_v<Combination, AllOf>;
  // `and`: true is neutral and false absorbs; `or`: the other way round.
  constexpr bool neutral = is_all;
  std::vector<Predicate> terms;
  std::vector<const RankIn*> ranks;
  for (const auto& term : node.terms) {
    Predicate folded = fold(term);
    if (const auto* c = std::get_if<Constant>(&folded.node)) {
      if (c->value == neutral) continue;
      return constant(!neutral, span);
    }
    terms.push_back(std::move(folded));
  }
  // Rank sets combine into one: intersected under `and`, united under `or`.
  std::vector<Predicate> kept;
  std::optional<std::set<int64_t>> combined;
  SourceSpan rank_span;
  for (auto& term : terms) {
    if (const auto* rank = std::get_if<RankIn>(&term.node)) {
      std::set<int64_t> these(rank->ranks.begin(), rank->ranks.end());
      if (!combined) {
        combined = these;
        rank_span = term.span;
      } else if (is_all) {
        std::set<int64_t> both;
        std::set_intersection(combined->begin(), combined->end(), these.begin(), these.end(), std::inserter(both, both.end()));
        combined = both;
      } else {
        combined->insert(these.begin(), these.end());
      }
      continue;
    }
    kept.push_back(std::move(term));
  }
  if (combined) {
    if (combined->empty()) {
      if (is_all) return constant(false, span);
    } else {
      kept.insert(kept.begin(), Predicate{RankIn{{combined->begin(), combined->end()}}, rank_span});
    }
  }
  if (kept.empty()) return constant(neutral, span);
  if (kept.size() == 1) return std::move(kept.front());
  return Predicate{Combination{std::move(kept)}, span};
}

}  // namespace

Predicate fold(const Predicate& predicate) {
  const SourceSpan& span = predicate.span;
  return std::visit(
      [&](const auto& node) -> Predicate {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          return fold_combination(node, span);
        } else if constexpr (std::is_same_v<Node, Not>) {
          Predicate inner = fold(*node.term);
          if (const auto* c = std::get_if<Constant>(&inner.node)) return constant(!c->value, span);
          if (auto* twice = std::get_if<Not>(&inner.node)) return std::move(*twice->term);
          return Predicate{Not{std::move(inner)}, span};
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          if (node.patterns.empty()) return constant(false, span);
          if (node.op != MatchOp::equals && node.op != MatchOp::regex &&
              std::any_of(node.patterns.begin(), node.patterns.end(), [](const std::string& p) { return p.empty(); }))
            return constant(true, span);
          return predicate;
        } else if constexpr (std::is_same_v<Node, RankIn>) {
          return node.ranks.empty() ? constant(false, span) : predicate;
        } else if constexpr (std::is_same_v<Node, DtypeIn>) {
          return node.dtypes.empty() ? constant(false, span) : predicate;
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          return node.types.empty() ? constant(false, span) : predicate;
        } else if constexpr (std::is_same_v<Node, StageIn>) {
          return node.stages.empty() ? constant(false, span) : predicate;
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          if (node.paths.empty()) return constant(false, span);
          // "" is the whole model only as a DSL path from the model's root (anemoi's legacy walk never finds it).
          bool whole_model = node.semantics == PathSemantics::dotted_path && node.roots.empty();
          if (whole_model && std::any_of(node.paths.begin(), node.paths.end(), [](const std::string& p) { return p.empty(); }))
            return constant(true, span);
          return predicate;
        } else {
          return predicate;
        }
      },
      predicate.node);
}

bool is_constant(const Predicate& predicate, bool value) {
  const auto* c = std::get_if<Constant>(&predicate.node);
  return c && c->value == value;
}

}  // namespace taxon
