#include "grammar/ir_to_tx.hpp"

#include <fmt/format.h>

#include "grammar/tx_print.hpp"

namespace taxon::tx {
namespace {

Literal word(std::string text) { return Literal{Literal::Kind::word, std::move(text), {}}; }
Literal string(std::string text) { return Literal{Literal::Kind::string, std::move(text), {}}; }
Literal number(int64_t value) { return Literal{Literal::Kind::number, std::to_string(value), {}}; }

Expr test(Field field, TestOp op, std::vector<Literal> values, bool force_set = false) {
  Test t;
  t.field = field;
  t.op = op;
  t.is_set = force_set || values.size() != 1;
  t.values = std::move(values);
  return Expr{std::move(t), {}};
}

// `name starts {"a", "b"}`, or `name == "a"`; a set with one item is written bare.
Expr string_test(Field field, TestOp op, const std::vector<std::string>& patterns, Literal::Kind kind) {
  std::vector<Literal> values;
  for (const auto& pattern : patterns) values.push_back(Literal{kind, pattern, {}});
  return test(field, op, std::move(values));
}

// `field == x` for one value, `field in {x, y}` for several.
Expr membership(Field field, std::vector<Literal> values) {
  if (values.size() == 1) return test(field, TestOp::eq, std::move(values));
  return test(field, TestOp::in, std::move(values), true);
}

std::string number_text(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // keep it a float when read back
  return text;
}

}  // namespace

Expr to_expr(const Predicate& predicate) {
  return std::visit(
      [](const auto& node) -> Expr {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Constant>) {
          return Expr{Flag{node.value ? Flag::Which::true_ : Flag::Which::false_}, {}};
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          Field field = node.field == StringField::name ? Field::name : node.field == StringField::module ? Field::module : Field::source;
          if (field == Field::source) {
            std::vector<Literal> values;
            for (const auto& p : node.patterns) values.push_back(Literal{Literal::Kind::number, p, {}});
            return membership(Field::source, std::move(values));
          }
          switch (node.op) {
            case MatchOp::equals: return string_test(field, TestOp::eq, node.patterns, Literal::Kind::string);
            case MatchOp::starts: return string_test(field, TestOp::starts, node.patterns, Literal::Kind::string);
            case MatchOp::ends: return string_test(field, TestOp::ends, node.patterns, Literal::Kind::string);
            case MatchOp::contains: return string_test(field, TestOp::contains, node.patterns, Literal::Kind::string);
            case MatchOp::regex: return string_test(field, TestOp::matches, node.patterns, Literal::Kind::regex);
          }
          return Expr{Flag{Flag::Which::false_}, {}};
        } else if constexpr (std::is_same_v<Node, RankIn>) {
          std::vector<Literal> values;
          for (int64_t rank : node.ranks) values.push_back(number(rank));
          if (values.empty()) return Expr{Flag{Flag::Which::false_}, {}};
          return membership(Field::rank, std::move(values));
        } else if constexpr (std::is_same_v<Node, ShapeIs>) {
          Test t;
          t.field = Field::shape;
          t.op = TestOp::eq;
          t.is_shape = true;
          for (const auto& dim : node.dims)
            t.values.push_back(dim ? number(*dim) : Literal{Literal::Kind::wildcard, "_", {}});
          return Expr{std::move(t), {}};
        } else if constexpr (std::is_same_v<Node, DtypeIn>) {
          std::vector<Literal> values;
          for (const auto& dtype : node.dtypes) values.push_back(word(dtype));
          if (values.empty()) return Expr{Flag{Flag::Which::false_}, {}};
          return membership(Field::dtype, std::move(values));
        } else if constexpr (std::is_same_v<Node, KindIs>) {
          return test(Field::kind, TestOp::eq, {word(node.kind == TensorKind::buffer ? "buffer" : "parameter")});
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          std::vector<Literal> values;
          for (const auto& type : node.types) values.push_back(print_name(type) == type ? word(type) : string(type));
          if (values.empty()) return Expr{Flag{Flag::Which::false_}, {}};
          return test(Field::type, node.exact ? TestOp::is : TestOp::in, std::move(values), true);
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          return string_test(Field::module, TestOp::under, node.paths, Literal::Kind::string);
        } else if constexpr (std::is_same_v<Node, RequiresGrad>) {
          return Expr{Flag{node.value ? Flag::Which::trainable : Flag::Which::frozen}, {}};
        } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
          return Expr{Flag{Flag::Which::new_}, {}};
        } else if constexpr (std::is_same_v<Node, StageIn>) {
          std::vector<Literal> values;
          for (const auto& stage : node.stages) values.push_back(print_name(stage) == stage ? word(stage) : string(stage));
          if (values.empty()) return Expr{Flag{Flag::Which::false_}, {}};
          return test(Field::stage, TestOp::in, std::move(values), true);
        } else if constexpr (std::is_same_v<Node, AllOf>) {
          if (node.terms.empty()) return Expr{Flag{Flag::Which::true_}, {}};
          if (node.terms.size() == 1) return to_expr(node.terms.front());
          AndExpr all;
          for (const auto& term : node.terms) all.terms.push_back(to_expr(term));
          return Expr{std::move(all), {}};
        } else if constexpr (std::is_same_v<Node, AnyOf>) {
          if (node.terms.empty()) return Expr{Flag{Flag::Which::false_}, {}};
          if (node.terms.size() == 1) return to_expr(node.terms.front());
          OrExpr any;
          for (const auto& term : node.terms) any.terms.push_back(to_expr(term));
          return Expr{std::move(any), {}};
        } else {
          return Expr{NotExpr{to_expr(*node.term)}, {}};
        }
      },
      predicate.node);
}

std::optional<Value> to_value(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> std::optional<Value> {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return Value{word("null"), {}};
        } else if constexpr (std::is_same_v<V, bool>) {
          return Value{word(v ? "true" : "false"), {}};
        } else if constexpr (std::is_same_v<V, int64_t>) {
          if (v < 0) return Value{ValueNeg{Value{number(-v), {}}}, {}};
          return Value{number(v), {}};
        } else if constexpr (std::is_same_v<V, double>) {
          if (std::signbit(v)) return Value{ValueNeg{Value{Literal{Literal::Kind::number, number_text(-v), {}}, {}}}, {}};
          return Value{Literal{Literal::Kind::number, number_text(v), {}}, {}};
        } else if constexpr (std::is_same_v<V, std::string>) {
          return Value{string(v), {}};
        } else if constexpr (std::is_same_v<V, OptionValue::List>) {
          ValueList list;
          for (const auto& item : v) {
            auto converted = to_value(item);
            if (!converted) return std::nullopt;
            list.items.push_back(std::move(*converted));
          }
          return Value{std::move(list), {}};
        } else {
          return std::nullopt;
        }
      },
      value.value);
}

std::string describe_node(const Predicate& predicate) {
  if (std::holds_alternative<AllOf>(predicate.node)) return std::get<AllOf>(predicate.node).terms.empty() ? "true" : "and";
  if (std::holds_alternative<AnyOf>(predicate.node)) return std::get<AnyOf>(predicate.node).terms.empty() ? "false" : "or";
  if (std::holds_alternative<Not>(predicate.node)) return "not";
  std::string text = print_expr(to_expr(predicate));
  // anemoi's freezing lists resolve their own way, which the language's `module under` does not say.
  if (const auto* under = std::get_if<ModuleUnder>(&predicate.node)) {
    std::string root = under->roots.empty()      ? std::string()
                       : under->roots.size() == 1 ? fmt::format(", from {} where the model has it", under->roots.front())
                                                  : fmt::format(", from the first of {} the model has", fmt::join(under->roots, ", "));
    switch (under->semantics) {
      case PathSemantics::dotted_path: break;
      case PathSemantics::anemoi_stage: text += " (anemoi's FreezingModifierStage: paths as get_submodule() resolves them)"; break;
      case PathSemantics::anemoi_legacy: text += fmt::format(" (anemoi's submodules_to_freeze: paths walked by named_children(){})", root); break;
      case PathSemantics::anemoi_any_depth: text += " (anemoi before training 0.15: module names at any depth)"; break;
    }
  }
  return text;
}

}  // namespace taxon::tx
