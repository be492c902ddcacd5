#include "grammar/tx_build.hpp"

#include <fmt/format.h>

#include "grammar/tx_grammar.hpp"

namespace taxon::tx {
namespace {

using Node = tao::pegtl::parse_tree::node;
using namespace peg;

class Builder {
 public:
  explicit Builder(const SourceRef& source) : source_(source) {}

  SourceSpan span(const Node& node) const {
    auto begin = node.begin();
    auto end = node.end();
    return SourceSpan{source_, static_cast<uint32_t>(begin.line), static_cast<uint32_t>(begin.column),
                      static_cast<uint32_t>(std::max<std::size_t>(end.byte - begin.byte, 1))};
  }

  Literal literal(const Node& node) const {
    Literal out;
    out.span = span(node);
    std::string_view text = node.string_view();
    if (node.is_type<string_lit>()) {
      out.kind = Literal::Kind::string;
      out.text = unescape_string(text);
    } else if (node.is_type<regex_lit>()) {
      out.kind = Literal::Kind::regex;
      out.text = unescape_regex(text.substr(1, text.size() - 2));
    } else if (node.is_type<number>()) {
      out.kind = Literal::Kind::number;
      out.text = std::string(text);
    } else if (node.is_type<wildcard>() || (node.is_type<value_word>() && text == "_")) {
      out.kind = Literal::Kind::wildcard;
      out.text.assign(1, '_');  // not `= "_"`: GCC 12 warns falsely (-Wrestrict, PR105329)
    } else {
      out.kind = Literal::Kind::word;
      out.text = std::string(text);
    }
    return out;
  }

  std::string name(const Node& node) const {
    return node.is_type<string_lit>() ? unescape_string(node.string_view()) : node.string();
  }

  Expr expr(const Node& node) const {
    Expr out;
    out.span = span(node);
    if (node.is_type<or_expr>() || node.is_type<and_expr>()) {
      std::vector<Expr> terms;
      for (const auto& child : node.children) terms.push_back(expr(*child));
      if (node.is_type<or_expr>()) out.node = OrExpr{std::move(terms)};
      else out.node = AndExpr{std::move(terms)};
    } else if (node.is_type<not_expr>()) {
      out.node = NotExpr{expr(*node.children.back())};
    } else if (node.is_type<peg::test>()) {
      out.node = test_node(node);
    } else if (node.is_type<flag>()) {
      std::string_view word = node.string_view();
      Flag flag_node;
      flag_node.which = word == "true"        ? Flag::Which::true_
                        : word == "false"     ? Flag::Which::false_
                        : word == "trainable" ? Flag::Which::trainable
                        : word == "frozen"    ? Flag::Which::frozen
                                              : Flag::Which::new_;
      out.node = flag_node;
    } else {
      out.node = Ref{node.string()};
    }
    return out;
  }

  Test test_node(const Node& node) const {
    Test out;
    const Node& field_node = *node.children.at(0);
    const Node& op_node = *node.children.at(1);
    const Node& value_node = *node.children.at(2);
    out.field_span = span(field_node);
    out.op_span = span(op_node);
    std::string_view field_text = field_node.string_view();
    static const std::pair<std::string_view, Field> kFields[] = {
        {"name", Field::name}, {"module", Field::module}, {"rank", Field::rank}, {"shape", Field::shape},
        {"dtype", Field::dtype}, {"kind", Field::kind}, {"type", Field::type}, {"stage", Field::stage},
        {"source", Field::source}};
    for (const auto& [text, field_value] : kFields)
      if (field_text == text) out.field = field_value;
    std::string_view op = op_node.string_view();
    static const std::pair<std::string_view, TestOp> kOps[] = {
        {"==", TestOp::eq},        {"!=", TestOp::ne},     {"<", TestOp::lt},       {"<=", TestOp::le},
        {">", TestOp::gt},         {">=", TestOp::ge},     {"in", TestOp::in},      {"starts", TestOp::starts},
        {"ends", TestOp::ends},    {"contains", TestOp::contains}, {"~", TestOp::matches}, {"under", TestOp::under},
        {"is", TestOp::is}};
    for (const auto& [text, op_value] : kOps)
      if (op == text) out.op = op_value;
    if (value_node.is_type<set_lit>() || value_node.is_type<shape_lit>()) {
      out.is_set = value_node.is_type<set_lit>();
      out.is_shape = value_node.is_type<shape_lit>();
      for (const auto& item : value_node.children) out.values.push_back(literal(*item));
    } else {
      out.values.push_back(literal(value_node));
    }
    return out;
  }

  Value value(const Node& node) const {
    Value out;
    out.span = span(node);
    if (node.is_type<peg::expr>() || node.is_type<term>()) {
      // left-associative chain: operand (op operand)*
      out = value(*node.children.at(0));
      for (std::size_t i = 1; i + 1 < node.children.size(); i += 2) {
        Value combined;
        combined.span = span(node);
        combined.node = ValueBinaryOp{node.children[i]->string(), out, value(*node.children[i + 1])};
        out = std::move(combined);
      }
    } else if (node.is_type<power>()) {
      out.node = ValueBinaryOp{"**", value(*node.children.at(0)), value(*node.children.at(2))};
    } else if (node.is_type<negate>()) {
      out.node = ValueNeg{value(*node.children.back())};
    } else if (node.is_type<aggregate>() || node.is_type<count_call>() || node.is_type<call>()) {
      ValueCallNode call_node;
      call_node.function = node.is_type<count_call>() ? "count" : node.children.at(0)->string();
      for (std::size_t i = node.is_type<count_call>() ? 0 : 1; i < node.children.size(); ++i) {
        if (node.is_type<call>() || (node.is_type<aggregate>() && i == 1)) call_node.args.push_back(value(*node.children[i]));
        else call_node.where = Box<Expr>(expr(*node.children[i]));
      }
      out.node = std::move(call_node);
    } else if (node.is_type<list_lit>()) {
      ValueList list;
      for (const auto& item : node.children) list.items.push_back(value(*item));
      out.node = std::move(list);
    } else {
      out.node = literal(node);
    }
    return out;
  }

  std::vector<Option> options(const Node& node) const {
    std::vector<Option> out;
    for (const auto& child : node.children)
      out.push_back(Option{child->children.at(0)->string(), value(*child->children.at(1)), span(*child)});
    return out;
  }

  bool is_options(const Node& node) const { return node.is_type<peg::options>(); }

  PlanItem plan_item(const Node& node) const {
    PlanItem out;
    out.span = span(node);
    const auto& children = node.children;
    if (node.is_type<item_from>()) {
      PlanFrom from;
      for (const auto& child : children) from.sources.push_back(literal(*child));
      out.node = std::move(from);
    } else if (node.is_type<item_text>()) {
      out.node = PlanText{children.at(0)->string(), literal(*children.at(1))};
    } else if (node.is_type<item_predicate>()) {
      out.node = PlanPredicate{children.at(0)->string(), expr(*children.at(1))};
    } else if (node.is_type<item_rewrite>()) {
      out.node = PlanRewrite{children.at(0)->string(), literal(*children.at(1)), literal(*children.at(2))};
    } else if (node.is_type<item_transform>()) {
      PlanTransform transform{children.at(0)->string(), children.at(1)->string(), expr(*children.at(2)), {}};
      if (children.size() > 3) transform.options = options(*children.at(3));
      out.node = std::move(transform);
    } else if (node.is_type<item_surgery>()) {
      PlanSurgery surgery{children.at(0)->string(), literal(*children.at(1)), {}, {}, {}};
      for (const auto& other : children.at(2)->children) surgery.others.push_back(literal(*other));
      for (const auto& output : children.at(3)->children) surgery.outputs.push_back(literal(*output));
      if (children.size() > 4) surgery.options = options(*children.at(4));
      out.node = std::move(surgery);
    } else if (node.is_type<item_skip>()) {
      out.node = PlanWords{"skip", children.at(0)->string()};
    } else {
      PlanLoad load;
      for (const auto& child : children)
        load.options.push_back(Option{child->children.at(0)->string(), value(*child->children.at(1)), span(*child)});
      out.node = std::move(load);
    }
    return out;
  }

  Statement statement(const Node& node) const {
    Statement out;
    out.span = span(node);
    out.first_line = static_cast<uint32_t>(node.begin().line);
    out.last_line = static_cast<uint32_t>(node.end().line);
    const auto& children = node.children;
    if (node.is_type<stmt_import>()) {
      Import import{unescape_string(children.at(0)->string_view()), span(*children.at(0)), {}};
      if (children.size() > 1) import.with = options(*children.at(1)->children.at(0));
      out.node = std::move(import);
    } else if (node.is_type<stmt_mode>()) {
      std::string_view mode = children.at(0)->string_view();
      out.node = ModeDecl{mode == "overlap" ? GroupMode::overlap : GroupMode::first_match, mode == "off"};
    } else if (node.is_type<stmt_match>()) {
      out.node = MatchWithout{unescape_string(children.at(0)->string_view())};
    } else if (node.is_type<stmt_stages>()) {
      StagesDecl stages;
      for (const auto& entry : children) {
        std::vector<Literal> patterns;
        for (const auto& item : entry->children.at(1)->children) patterns.push_back(literal(*item));
        stages.stages.emplace_back(literal(*entry->children.at(0)), std::move(patterns));
      }
      out.node = std::move(stages);
    } else if (node.is_type<stmt_let>()) {
      // The right-hand side is the last child: the lookahead that chose a value may leave a node before it.
      const Node& rhs = *children.back();
      if (rhs.is_type<let_value>())
        out.node = Let{children.at(0)->string(), span(*children.at(0)), Expr{Flag{}, span(rhs)}, value(*rhs.children.at(0))};
      else out.node = Let{children.at(0)->string(), span(*children.at(0)), expr(rhs), std::nullopt};
    } else if (node.is_type<stmt_param>()) {
      out.node = Param{children.at(0)->string(), span(*children.at(0)), value(*children.at(1))};
    } else if (node.is_type<stmt_set>()) {
      out.node = SetDecl{name(*children.at(0)), span(*children.at(0)), expr(*children.at(1)), options(*children.at(2))};
    } else if (node.is_type<stmt_keep_frozen>()) {
      out.node = KeepFrozen{};
    } else if (node.is_type<stmt_select>()) {
      out.node = Select{name(*children.at(0)), span(*children.at(0)), expr(*children.at(1))};
    } else if (node.is_type<stmt_group>()) {
      GroupDecl group{name(*children.at(0)), span(*children.at(0)), std::nullopt, {}};
      for (std::size_t i = 1; i < children.size(); ++i) {
        if (is_options(*children[i])) group.options = options(*children[i]);
        else group.expr = expr(*children[i]);
      }
      out.node = std::move(group);
    } else if (node.is_type<stmt_defaults>()) {
      out.node = Defaults{options(*children.at(0))};
    } else if (node.is_type<stmt_exclude>()) {
      out.node = Exclude{name(*children.at(0)), span(*children.at(0)), expr(*children.at(1))};
    } else if (node.is_type<stmt_freeze>()) {
      out.node = Freeze{expr(*children.at(0))};
    } else {
      Plan plan{name(*children.at(0)), span(*children.at(0)), {}};
      for (std::size_t i = 1; i < children.size(); ++i) plan.items.push_back(plan_item(*children[i]));
      out.node = std::move(plan);
    }
    return out;
  }

  static std::string unescape_regex(std::string_view body) {
    // Only \/ is the language's own escape; every other backslash is RE2's.
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == '/') {
        out.push_back('/');
        ++i;
      } else {
        out.push_back(body[i]);
        if (body[i] == '\\' && i + 1 < body.size()) out.push_back(body[++i]);
      }
    }
    return out;
  }

 private:
  SourceRef source_;
};

}  // namespace

std::string unescape_string(std::string_view quoted) {
  std::string_view body = quoted.substr(1, quoted.size() >= 2 ? quoted.size() - 2 : 0);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) {
      char next = body[++i];
      out.push_back(next == 'n' ? '\n' : next == 't' ? '\t' : next);
    } else {
      out.push_back(body[i]);
    }
  }
  return out;
}

Statement build_statement(const Node& node, const SourceRef& source) { return Builder(source).statement(node);
}

}  // namespace taxon::tx
