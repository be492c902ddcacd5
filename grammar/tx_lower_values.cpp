// Lowering's option values: constants, arithmetic over captures, values named by `let` and
// `param`, functions and aggregates over the model. Statements are in tx_lower.cpp.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/value_expr.hpp"
#include "grammar/tx_lower_internal.hpp"
#include "grammar/tx_print.hpp"

namespace taxon::tx::detail {

std::vector<GroupOption> Lowering::lower_options(const std::vector<Option>& options, const std::set<std::string>& captures) {
  std::vector<GroupOption> out;
  std::map<std::string, uint32_t> seen;
  for (const auto& option : options) {
    if (auto [first, inserted] = seen.emplace(option.key, option.span.line); !inserted) {
      diagnostics_.error(code::duplicate_name, option.span,
                         fmt::format("option {} is set twice (first on line {})", option.key, first->second),
                         "keep one of them");
      continue;
    }
    GroupOption lowered{option.key, {}, option.span};
    bool computed = false;
    std::optional<ValueExpr> expr = lower_value(option.value, captures, computed, lowered.value);
    if (computed && expr) {
      lowered.computed = std::move(expr);
      lowered.computed_text = print_value(option.value);
    }
    out.push_back(std::move(lowered));
  }
  return out;
}

// Returns the expression when the value depends on captures (computed =
// true); otherwise folds it into `constant`.
std::optional<ValueExpr> Lowering::lower_value(const Value& value, const std::set<std::string>& captures, bool& computed,
                                               OptionValue& constant) {
  if (const auto* literal = std::get_if<Literal>(&value.node)) {
    switch (literal->kind) {
      case Literal::Kind::string: constant.value = literal->text; return std::nullopt;
      case Literal::Kind::number: {
        const std::string& text = literal->text;
        int64_t integer_value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer_value);
        double number = std::strtod(text.c_str(), nullptr);
        if (error == std::errc() && end == text.data() + text.size()) constant.value = integer_value;
        else constant.value = number;
        if (std::isinf(number))
          diagnostics_.error(code::bad_value, value.span, fmt::format("{} is out of range for a number", text),
                             "write a number a double can hold (at most about 1.8e308)");
        return ValueExpr{ValueNumber{number}};
      }
      case Literal::Kind::word: return lower_word(*literal, value, captures, computed, constant);
      default: return std::nullopt;
    }
  }
  if (const auto* list = std::get_if<ValueList>(&value.node)) {
    OptionValue::List items;
    for (const auto& item : list->items) {
      OptionValue item_value;
      bool item_computed = false;
      lower_value(item, captures, item_computed, item_value);
      if (item_computed)
        diagnostics_.error(code::bad_value, item.span, "list items cannot depend on captures",
                           "compute a single number from the captures instead");
      items.push_back(std::move(item_value));
    }
    constant.value = std::move(items);
    return std::nullopt;
  }
  if (const auto* call = std::get_if<ValueCallNode>(&value.node)) return lower_call(*call, value, captures, computed, constant);
  auto operand = [&](const Value& side) -> std::optional<ValueExpr> {
    OptionValue side_constant;
    auto expr = lower_value(side, captures, computed, side_constant);
    if (!expr) {
      if (!std::holds_alternative<std::monostate>(side_constant.value))
        diagnostics_.error(code::bad_value, side.span, "arithmetic needs numbers", "write a number or a capture name");
      return std::nullopt;
    }
    return expr;
  };
  std::optional<ValueExpr> result;
  if (const auto* negation = std::get_if<ValueNeg>(&value.node)) {
    auto inner = operand(*negation->operand);
    if (!inner) return std::nullopt;
    result = ValueExpr{ValueNegate{std::move(*inner)}};
  } else if (const auto* binary = std::get_if<ValueBinaryOp>(&value.node)) {
    auto lhs = operand(*binary->lhs);
    auto rhs = operand(*binary->rhs);
    if (!lhs || !rhs) return std::nullopt;
    char op = binary->op == "**" ? '^' : binary->op.front();
    result = ValueExpr{ValueBinary{op, std::move(*lhs), std::move(*rhs)}};
  }
  if (result && !computed) {  // constant arithmetic: fold it now
    double folded = evaluate_value(*result, {});
    if (std::isfinite(folded) && folded == std::floor(folded) && std::abs(folded) < 9e15 && all_integers(value))
      constant.value = static_cast<int64_t>(folded);
    else constant.value = folded;
  }
  return result;
}

// A word in a value: true/false/null, a capture of the rule's regexes (the value is then computed
// per tensor), or a value named by `let` or `param`.
std::optional<ValueExpr> Lowering::lower_word(const Literal& literal, const Value& value, const std::set<std::string>& captures,
                                              bool& computed, OptionValue& constant) {
  if (literal.text == "true" || literal.text == "false") {
    constant.value = literal.text == "true";
    return std::nullopt;
  }
  if (literal.text == "null") return std::nullopt;
  if (captures.contains(literal.text)) {
    computed = true;
    return ValueExpr{ValueCapture{literal.text}};
  }
  if (auto found = values_.find(literal.text); found != values_.end()) {
    found->second.used = true;
    constant = found->second.constant;
    if (found->second.expr) {
      computed = true;
      return found->second.expr;
    }
    if (const auto* integer = std::get_if<int64_t>(&constant.value)) return ValueExpr{ValueNumber{static_cast<double>(*integer)}};
    if (const auto* number = std::get_if<double>(&constant.value)) return ValueExpr{ValueNumber{*number}};
    return std::nullopt;
  }
  std::vector<std::string> names(captures.begin(), captures.end());
  for (const auto& [name, binding] : values_) names.push_back(name);
  std::string suggestion = closest_match(literal.text, names);
  diagnostics_.error(code::unknown_capture, value.span,
                     fmt::format("'{}' is neither a named capture of this rule's regexes nor a value (`let`, `param`)",
                                 literal.text),
                     !suggestion.empty() ? fmt::format("did you mean '{}'?", suggestion)
                     : captures.empty()  ? std::string("name a capture in the rule's regex: /blocks\\.(?P<i>\\d+)\\./, or "
                                                       "define the value first: `let decay = 0.75`")
                                         : fmt::format("the rule's regexes capture: {}", fmt::join(captures, ", ")));
  return std::nullopt;
}

// min(a, b, ...), max(a, b, ...), clamp(x, low, high); and the aggregates over the model:
// max(i where PRED), min(i where PRED), count(i where PRED) (distinct values), count(PRED).
std::optional<ValueExpr> Lowering::lower_call(const ValueCallNode& call, const Value& value, const std::set<std::string>& captures,
                                              bool& computed, OptionValue& constant) {
  static const std::vector<std::string> kFunctions = {"min", "max", "clamp", "count"};
  if (std::find(kFunctions.begin(), kFunctions.end(), call.function) == kFunctions.end()) {
    diagnostics_.error(code::unknown_identifier, value.span, fmt::format("no function `{}`", call.function),
                       suggest(call.function, kFunctions, "the functions are min, max, clamp and count"));
    return std::nullopt;
  }
  if (call.where) {
    Predicate predicate = lower(**call.where);
    ValueAggregate aggregate{ValueAggregate::Op::count_tensors, "", Box<Predicate>(predicate), print_value(value)};
    if (!call.args.empty()) {
      const auto* capture = std::get_if<Literal>(&call.args[0].node);
      std::set<std::string> names;
      collect_captures(predicate, names);
      if (!capture || capture->kind != Literal::Kind::word || !names.contains(capture->text)) {
        std::vector<std::string> listed(names.begin(), names.end());
        diagnostics_.error(code::unknown_capture, call.args[0].span,
                           fmt::format("`{}(... where ...)` ranges over a named capture of the regex after `where`",
                                       call.function),
                           listed.empty() ? std::string("capture it: max(i where name ~ /^blocks\\.(?P<i>\\d+)\\./)")
                                          : fmt::format("it captures {}", fmt::join(listed, ", ")));
        return std::nullopt;
      }
      aggregate.capture = capture->text;
      aggregate.op = call.function == "max"   ? ValueAggregate::Op::max
                     : call.function == "min" ? ValueAggregate::Op::min
                                              : ValueAggregate::Op::count_distinct;
      if (call.function == "clamp") {
        diagnostics_.error(code::bad_value, value.span, "`clamp` takes three numbers, not `where`",
                           "write clamp(x, low, high); max, min and count range over tensors with `where`");
        return std::nullopt;
      }
    } else if (call.function != "count") {
      diagnostics_.error(code::bad_value, value.span, fmt::format("`{}` takes a capture before `where`", call.function),
                         fmt::format("e.g. {}(i where name ~ /^blocks\\.(?P<i>\\d+)\\./)", call.function));
      return std::nullopt;
    }
    computed = true;
    return ValueExpr{std::move(aggregate)};
  }
  std::size_t wanted = call.function == "clamp" ? 3 : 0;
  if (call.function == "count" || (wanted && call.args.size() != wanted) || (!wanted && call.args.empty())) {
    diagnostics_.error(code::bad_value, value.span,
                       call.function == "count" ? std::string("`count` takes a predicate: count(PREDICATE) or count(i where PREDICATE)")
                       : wanted ? fmt::format("`clamp` takes 3 numbers (x, low, high), not {}", call.args.size())
                                : fmt::format("`{}` takes one or more numbers", call.function),
                       "e.g. clamp(decay ** (depth - i), 0.1, 1.0)");
    return std::nullopt;
  }
  ValueCall lowered{call.function, {}};
  bool any_computed = false;
  for (const auto& arg : call.args) {
    OptionValue arg_constant;
    bool arg_computed = false;
    auto expr = lower_value(arg, captures, arg_computed, arg_constant);
    if (!expr) {
      if (!std::holds_alternative<std::monostate>(arg_constant.value))
        diagnostics_.error(code::bad_value, arg.span, fmt::format("`{}` needs numbers", call.function),
                           "write a number, a capture or a value");
      return std::nullopt;
    }
    any_computed = any_computed || arg_computed;
    lowered.args.push_back(std::move(*expr));
  }
  ValueExpr result{std::move(lowered)};
  if (any_computed) {
    computed = true;
    return result;
  }
  double folded = evaluate_value(result, {});
  if (folded == std::floor(folded) && std::abs(folded) < 9e15 && all_integers(value)) constant.value = static_cast<int64_t>(folded);
  else constant.value = folded;
  return result;
}

bool Lowering::all_integers(const Value& value) const {
  if (const auto* literal = std::get_if<Literal>(&value.node)) {
    if (literal->kind == Literal::Kind::word)
      if (auto found = values_.find(literal->text); found != values_.end())
        return std::holds_alternative<int64_t>(found->second.constant.value);
    return literal->kind == Literal::Kind::number && literal->text.find_first_of(".eE") == std::string::npos;
  }
  if (const auto* call = std::get_if<ValueCallNode>(&value.node))
    return !call->where && std::all_of(call->args.begin(), call->args.end(), [&](const Value& arg) { return all_integers(arg); });
  if (const auto* negation = std::get_if<ValueNeg>(&value.node)) return all_integers(*negation->operand);
  if (const auto* binary = std::get_if<ValueBinaryOp>(&value.node))
    return binary->op != "/" && binary->op != "**" && all_integers(*binary->lhs) && all_integers(*binary->rhs);
  return false;
}

}  // namespace taxon::tx::detail
