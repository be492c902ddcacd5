#include "engine/lint.hpp"

#include <fmt/format.h>

#include "engine/passes/fold.hpp"

namespace taxon {
namespace {

void check_constant(const Predicate& predicate, std::string_view what, const std::string& name, Diagnostics& out) {
  if (std::holds_alternative<Constant>(predicate.node)) return;  // written as true/false on purpose
  Predicate folded = fold(predicate);
  if (is_constant(folded, true))
    out.warning(code::always_true, predicate.span, fmt::format("{} {} matches every tensor it sees", what, name),
                "one of its terms is always true; if that is intended, write `true`");
  else if (is_constant(folded, false))
    out.warning(code::always_false, predicate.span, fmt::format("{} {} can never match", what, name),
                "its terms contradict each other or are empty; if that is intended, write `false`");
}

// A '.' at the end of a regex matches any character: linnaeus's drop_params
// patterns like "head." also drop "heads" (and "head_", ...).
bool ends_in_bare_dot(const std::string& pattern) {
  if (pattern.empty() || pattern.back() != '.') return false;
  std::size_t backslashes = 0;
  for (std::size_t i = pattern.size() - 1; i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

// A quantified group that itself ends in a quantifier: (a+)+, (\w*)*, (x+|y)+.
// RE2 runs these in linear time, but Python's re (which linnaeus uses on
// the same file) backtracks exponentially on them.
bool nested_quantifier(const std::string& pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != ')') continue;
    char after = pattern[i + 1];
    if (after != '+' && after != '*' && after != '{') continue;
    char before = i > 0 ? pattern[i - 1] : ' ';
    bool escaped = i > 1 && pattern[i - 2] == '\\';
    if ((before == '+' || before == '*') && !escaped) return true;
  }
  return false;
}

bool covers(MatchOp outer, const std::string& p1, MatchOp inner, const std::string& p2) {
  switch (outer) {
    case MatchOp::contains: return inner != MatchOp::regex && p2.find(p1) != std::string::npos;
    case MatchOp::starts: return (inner == MatchOp::starts || inner == MatchOp::equals) && p2.starts_with(p1);
    case MatchOp::ends: return (inner == MatchOp::ends || inner == MatchOp::equals) && p2.ends_with(p1);
    case MatchOp::equals: return inner == MatchOp::equals && p1 == p2;
    case MatchOp::regex: return inner == MatchOp::regex && p1 == p2;
  }
  return false;
}

std::string_view op_word(MatchOp op) {
  switch (op) {
    case MatchOp::equals: return "==";
    case MatchOp::starts: return "starts";
    case MatchOp::ends: return "ends";
    case MatchOp::contains: return "contains";
    case MatchOp::regex: return "~";
  }
  return "";
}

void check_patterns(const Predicate& predicate, Diagnostics& out) {
  std::visit(
      [&](const auto& node) {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, StringMatch>) {
          for (std::size_t i = 0; i < node.patterns.size(); ++i) {
            const std::string& pattern = node.patterns[i];
            if (node.op == MatchOp::regex && ends_in_bare_dot(pattern))
              out.warning(code::trailing_dot_regex, predicate.span,
                          fmt::format("the final '.' of /{}/ matches any character, not only a dot", pattern),
                          fmt::format("write /{}\\./ to require the dot (linnaeus's drop_params quirk: \"head.\" also "
                                      "drops \"heads\")",
                                      pattern.substr(0, pattern.size() - 1)));
            if (node.op == MatchOp::regex && nested_quantifier(pattern))
              out.warning(code::backtracking_regex, predicate.span,
                          fmt::format("/{}/ repeats a repeated group", pattern),
                          "RE2 runs it in linear time, but Python's re backtracks exponentially on it; "
                          "simplify it if Python code reads the same rules");
            for (std::size_t j = 0; j < node.patterns.size(); ++j) {
              if (i == j) continue;
              bool same = node.patterns[j] == pattern;
              if ((same && j < i) || (!same && covers(node.op, node.patterns[j], node.op, pattern))) {
                out.warning(code::redundant_pattern, predicate.span,
                            fmt::format("pattern \"{}\" adds nothing: \"{}\" already matches every name it does", pattern,
                                        node.patterns[j]),
                            "remove it, or make the broader pattern more specific");
                break;
              }
            }
          }
        } else if constexpr (std::is_same_v<Node, AllOf> || std::is_same_v<Node, AnyOf>) {
          for (const auto& term : node.terms) check_patterns(term, out);
        } else if constexpr (std::is_same_v<Node, Not>) {
          check_patterns(*node.term, out);
        }
      },
      predicate.node);
}

// Literal patterns of a later group that an earlier group's patterns cover.
void check_group_patterns(const GroupSet& set, Diagnostics& out) {
  for (std::size_t later = 0; later < set.groups.size(); ++later) {
    const auto* inner = std::get_if<StringMatch>(&set.groups[later].predicate.node);
    if (!inner) continue;
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const auto* outer = std::get_if<StringMatch>(&set.groups[earlier].predicate.node);
      if (!outer || outer->field != inner->field) continue;
      std::vector<std::string> covered;
      std::string by;
      for (const auto& p2 : inner->patterns)
        for (const auto& p1 : outer->patterns)
          if (covers(outer->op, p1, inner->op, p2)) {
            covered.push_back(p2);
            by = p1;
            break;
          }
      if (covered.empty()) continue;
      const Group& group = set.groups[later];
      const Group& first = set.groups[earlier];
      bool all = covered.size() == inner->patterns.size();
      std::string message =
          set.mode == GroupMode::first_match
              ? (all ? fmt::format("group {} can never match: group {} ({} \"{}\") comes first and takes every name it "
                                   "matches",
                                   group.name, first.name, op_word(outer->op), by)
                     : fmt::format("pattern \"{}\" of group {} is dead: group {} ({} \"{}\") comes first", covered.front(),
                                   group.name, first.name, op_word(outer->op), by))
              : fmt::format("groups {} and {} overlap: {} \"{}\" also matches {} \"{}\"", first.name, group.name,
                            op_word(outer->op), by, op_word(inner->op), covered.front());
      out.warning(code::shadowed_pattern, group.span, message,
                  set.mode == GroupMode::first_match ? "move the more specific group first"
                                                     : "in overlap mode such a tensor joins both groups; make the "
                                                       "patterns disjoint");
      break;
    }
  }
}

}  // namespace

Diagnostics lint_plan(const CheckpointPlan& plan) {
  Diagnostics out;
  for (const auto& plan_step : plan.steps)
    if (const auto* drop = std::get_if<step::Drop>(&plan_step.step)) check_patterns(drop->predicate, out);
  return out;
}

Diagnostics lint_program(const Program& program) {
  Diagnostics out;
  for (const auto& selection : program.selections) {
    check_constant(selection.predicate, "selection", selection.name, out);
    check_patterns(selection.predicate, out);
  }
  if (program.groups) {
    for (const auto& group : program.groups->groups) {
      check_constant(group.predicate, "group", group.name, out);
      check_patterns(group.predicate, out);
    }
    check_group_patterns(*program.groups, out);
  }
  return out;
}

}  // namespace taxon
