// Evaluates computed options: layer-wise decay and friends.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "engine/ir.hpp"

namespace taxon {

// The value of `expr` with the given captures; NaN when a capture is missing or an aggregate was
// not resolved (resolve_aggregates). Division by zero gives ±inf, as IEEE arithmetic does.
double evaluate_value(const ValueExpr& expr, const std::map<std::string, double>& captures);

// A capture's text as a number, where all of it is one ("12", "0.5"); nullopt otherwise.
std::optional<double> capture_number(const std::string& text);
// The captures that are numbers, for evaluate_value.
std::map<std::string, double> numeric_captures(const std::map<std::string, std::string>& captured);

// Whether the value differs from tensor to tensor (it names a capture).
bool uses_captures(const ValueExpr& expr);
// Whether it needs the model (an aggregate such as `max(i where ...)`).
bool uses_aggregates(const ValueExpr& expr);

// `expr` with every aggregate replaced by the number `value_of` gives for it.
ValueExpr resolve_aggregates(const ValueExpr& expr, const std::function<double(const ValueAggregate&)>& value_of);

}  // namespace taxon
