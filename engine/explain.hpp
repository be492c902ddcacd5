// Why one tensor lands where it does: every rule's verdict, node by node.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/evaluate.hpp"

namespace taxon {

struct ExplainNode {
  const Predicate* predicate = nullptr;  // points into the program
  bool matched = false;
  std::vector<ExplainNode> children;
};

struct RuleVerdict {
  std::string name;
  bool considered = true;  // false: outside the rule's universe (a buffer, a tied alias)
  bool matched = false;
  ExplainNode tree;
  std::map<std::string, std::string> captures;  // named regex captures, for computed options
  bool joined = false;                          // groups: the tensor joined this group
};

struct ExplainResult {
  std::size_t tensor = 0;  // the entry rules see (the first name of a tie)
  std::string match_name;  // the name after the program's prefix stripping
  bool trainable = true;   // after the program's freeze rules
  std::vector<RuleVerdict> selections;
  std::vector<RuleVerdict> groups;  // in file order; the default group last
  std::vector<RuleVerdict> set_rules;  // in file order
  GroupMode mode = GroupMode::first_match;
  bool groups_enabled = true;
  EvalResult evaluation;  // the whole evaluation, for its diagnostics and options
};

ExplainResult explain(const Program& program, const TensorTable& table, std::size_t tensor, const EvalOptions& options = {});

}  // namespace taxon
