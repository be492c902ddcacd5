#include "engine/value_expr.hpp"

#include <cmath>
#include <limits>

namespace taxon {

double evaluate_value(const ValueExpr& expr, const std::map<std::string, double>& captures) {
  return std::visit(
      [&](const auto& node) -> double {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, ValueNumber>) {
          return node.value;
        } else if constexpr (std::is_same_v<Node, ValueCapture>) {
          auto found = captures.find(node.name);
          return found == captures.end() ? std::numeric_limits<double>::quiet_NaN() : found->second;
        } else if constexpr (std::is_same_v<Node, ValueNegate>) {
          return -evaluate_value(*node.operand, captures);
        } else {
          double lhs = evaluate_value(*node.lhs, captures), rhs = evaluate_value(*node.rhs, captures);
          switch (node.op) {
            case '+': return lhs + rhs;
            case '-': return lhs - rhs;
            case '*': return lhs * rhs;
            case '/': return lhs / rhs;
            case '^': return std::pow(lhs, rhs);
          }
          return std::numeric_limits<double>::quiet_NaN();
        }
      },
      expr.node);
}

}  // namespace taxon
