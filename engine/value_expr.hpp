// Evaluates computed options: layer-wise decay and friends.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "engine/ir.hpp"

namespace taxon {

// The value of `expr` with the given captures; NaN when a capture is missing or an aggregate was
// not resolved (resolve_aggregates). Division by zero gives ±inf, as IEEE arithmetic does.
double evaluate_value(const ValueExpr& expr, const std::map<std::string, double>& captures);

// Whether the value differs from tensor to tensor (it names a capture).
bool uses_captures(const ValueExpr& expr);
// Whether it needs the model (an aggregate such as `max(i where ...)`).
bool uses_aggregates(const ValueExpr& expr);

// `expr` with every aggregate replaced by the number `value_of` gives for it.
ValueExpr resolve_aggregates(const ValueExpr& expr, const std::function<double(const ValueAggregate&)>& value_of);

}  // namespace taxon
