#include "engine/value_expr.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace taxon {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double call(const ValueCall& node, const Captures& captures) {
  std::vector<double> args;
  for (const auto& arg : node.args) {
    args.push_back(evaluate_value(arg, captures));
    if (std::isnan(args.back())) return kNaN;
  }
  if (args.empty()) return kNaN;
  if (node.function == "min") return *std::min_element(args.begin(), args.end());
  if (node.function == "max") return *std::max_element(args.begin(), args.end());
  if (node.function == "clamp" && args.size() == 3) return std::min(std::max(args[0], args[1]), args[2]);
  return kNaN;
}

template <typename Visit>
bool any_node(const ValueExpr& expr, const Visit& test) {
  if (test(expr)) return true;
  return std::visit(
      [&](const auto& node) -> bool {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, ValueBinary>) return any_node(*node.lhs, test) || any_node(*node.rhs, test);
        else if constexpr (std::is_same_v<Node, ValueNegate>) return any_node(*node.operand, test);
        else if constexpr (std::is_same_v<Node, ValueCall>)
          return std::any_of(node.args.begin(), node.args.end(), [&](const ValueExpr& arg) { return any_node(arg, test); });
        else return false;
      },
      expr.node);
}

}  // namespace

double evaluate_value(const ValueExpr& expr, const Captures& captures) {
  return std::visit(
      [&](const auto& node) -> double {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, ValueNumber>) {
          return node.value;
        } else if constexpr (std::is_same_v<Node, ValueCapture>) {
          return captures.number(node.name).value_or(kNaN);
        } else if constexpr (std::is_same_v<Node, ValueNegate>) {
          return -evaluate_value(*node.operand, captures);
        } else if constexpr (std::is_same_v<Node, ValueCall>) {
          return call(node, captures);
        } else if constexpr (std::is_same_v<Node, ValueAggregate>) {
          return kNaN;
        } else {
          double lhs = evaluate_value(*node.lhs, captures), rhs = evaluate_value(*node.rhs, captures);
          switch (node.op) {
            case '+': return lhs + rhs;
            case '-': return lhs - rhs;
            case '*': return lhs * rhs;
            case '/': return lhs / rhs;
            case '^': return std::pow(lhs, rhs);
          }
          return kNaN;
        }
      },
      expr.node);
}

std::optional<double> capture_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Most captures are layer and expert indices: plain digits, read here exactly as strtod reads
  // them (up to 15 digits a double holds exactly) without its locale lookups.
  if (text.size() <= 15 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t digits = 0;
    for (char c : text) digits = digits * 10 + (c - '0');
    return static_cast<double>(digits);
  }
  // strtod reads up to a NUL: short captures (all that regexes of names bind) go through a buffer on the stack.
  char buffer[64];
  std::string copy;
  const char* start = buffer;
  if (text.size() < sizeof buffer) {
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
  } else {
    copy.assign(text);
    start = copy.c_str();
  }
  char* end = nullptr;
  double value = std::strtod(start, &end);
  if (end != start + text.size()) return std::nullopt;
  return value;
}

bool Captures::bind(std::string_view name, std::string_view text) {
  for (const auto& [bound, value] : bound_)
    if (bound == name) return false;
  bound_.emplace_back(name, text);
  return true;
}

std::optional<std::string_view> Captures::text(std::string_view name) const {
  for (const auto& [bound, value] : bound_)
    if (bound == name) return value;
  return std::nullopt;
}

std::map<std::string, std::string> Captures::to_map() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : bound_) out.emplace(name, value);
  return out;
}

bool uses_captures(const ValueExpr& expr) {
  return any_node(expr, [](const ValueExpr& e) { return std::holds_alternative<ValueCapture>(e.node); });
}

bool uses_aggregates(const ValueExpr& expr) {
  return any_node(expr, [](const ValueExpr& e) { return std::holds_alternative<ValueAggregate>(e.node); });
}

void for_each_aggregate(const ValueExpr& expr, const std::function<void(const ValueAggregate&)>& visit) {
  any_node(expr, [&](const ValueExpr& e) {
    if (const auto* aggregate = std::get_if<ValueAggregate>(&e.node)) visit(*aggregate);
    return false;
  });
}

ValueExpr resolve_aggregates(const ValueExpr& expr, const std::function<double(const ValueAggregate&)>& value_of) {
  return std::visit(
      [&](const auto& node) -> ValueExpr {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, ValueAggregate>) {
          return ValueExpr{ValueNumber{value_of(node)}};
        } else if constexpr (std::is_same_v<Node, ValueBinary>) {
          return ValueExpr{ValueBinary{node.op, resolve_aggregates(*node.lhs, value_of), resolve_aggregates(*node.rhs, value_of)}};
        } else if constexpr (std::is_same_v<Node, ValueNegate>) {
          return ValueExpr{ValueNegate{resolve_aggregates(*node.operand, value_of)}};
        } else if constexpr (std::is_same_v<Node, ValueCall>) {
          ValueCall out{node.function, {}};
          for (const auto& arg : node.args) out.args.push_back(resolve_aggregates(arg, value_of));
          return ValueExpr{std::move(out)};
        } else {
          return expr;
        }
      },
      expr.node);
}

}  // namespace taxon
