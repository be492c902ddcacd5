// Evaluates computed group options (layer-wise decay and friends).
#pragma once

#include <map>
#include <string>

#include "engine/ir.hpp"

namespace taxon {

// The value of `expr` with the given captures; NaN when a capture is
// missing. Division by zero gives ±inf, as IEEE arithmetic does.
double evaluate_value(const ValueExpr& expr, const std::map<std::string, double>& captures);

}  // namespace taxon
