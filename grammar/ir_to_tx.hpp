// The rule IR written back as taxon language syntax: how `taxon convert`
// writes YAML rules and how `taxon explain` shows a rule.
#pragma once

#include "engine/ir.hpp"
#include "grammar/tx_ast.hpp"

namespace taxon::tx {

Expr to_expr(const Predicate& predicate);

// A constant option value as a language value; nullopt for a mapping, which
// the language cannot write.
std::optional<Value> to_value(const OptionValue& value);

// A one-line description of a predicate node without its children (`or`,
// `name starts "x"`), for explanations.
std::string describe_node(const Predicate& predicate);

}  // namespace taxon::tx
