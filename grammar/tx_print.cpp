#include "grammar/tx_print.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace taxon::tx {
namespace {

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(c);
    }
  }
  return out + "\"";
}

int precedence(const Expr& expr) {
  if (std::holds_alternative<OrExpr>(expr.node)) return 1;
  if (std::holds_alternative<AndExpr>(expr.node)) return 2;
  if (std::holds_alternative<NotExpr>(expr.node)) return 3;
  return 4;
}

std::string print_at(const Expr& expr, int minimum) {
  std::string text = print_expr(expr);
  return precedence(expr) < minimum ? "(" + text + ")" : text;
}

int value_precedence(const Value& value) {
  if (const auto* binary = std::get_if<ValueBinaryOp>(&value.node)) {
    if (binary->op == "+" || binary->op == "-") return 1;
    if (binary->op == "*" || binary->op == "/") return 2;
    return 4;  // **: tighter than a unary minus, as in Python
  }
  if (std::holds_alternative<ValueNeg>(value.node)) return 3;
  return 5;
}

std::string value_at(const Value& value, int minimum) {
  std::string text = print_value(value);
  return value_precedence(value) < minimum ? "(" + text + ")" : text;
}

std::string options_inline(const std::vector<Option>& options) {
  if (options.empty()) return "{}";
  std::string out = "{ ";
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (i > 0) out += ", ";
    out += options[i].key + " = " + print_value(options[i].value);
  }
  return out + " }";
}

std::string test_text(const Test& test) {
  std::string out = fmt::format("{} {} ", field_name(test.field), op_text(test.op));
  if (test.is_shape || test.is_set) {
    out += test.is_shape ? "[" : "{";
    for (std::size_t i = 0; i < test.values.size(); ++i) {
      if (i > 0) out += ", ";
      out += print_literal(test.values[i]);
    }
    out += test.is_shape ? "]" : "}";
  } else if (!test.values.empty()) {
    out += print_literal(test.values.front());
  }
  return out;
}

class Printer {
 public:
  explicit Printer(const File& file) : file_(file), comments_(file.comments), done_(file.comments.size(), false) {}

  std::string run() {
    for (const auto& statement : file_.statements) statement_(statement);
    flush_comments_before(UINT32_MAX, 0);
    return out_;
  }

 private:
  // One printed line that stands for source lines [first, last].
  void line(uint32_t first, uint32_t last, std::size_t indent, std::string text) {
    flush_comments_before(first, indent);
    // Own-line comments inside a unit's range move above it: nothing is lost.
    for (std::size_t i = next_; i < comments_.size() && comments_[i].line <= last; ++i) {
      if (!done_[i] && comments_[i].own_line && comments_[i].line >= first) {
        out_ += std::string(indent, ' ') + comments_[i].text + "\n";
        done_[i] = true;
      }
    }
    separate(first);
    std::string trailing;
    for (; next_ < comments_.size() && comments_[next_].line <= last; ++next_) {
      if (done_[next_]) continue;
      trailing += (trailing.empty() ? "" : "  ") + comments_[next_].text;
      done_[next_] = true;
    }
    out_ += std::string(indent, ' ') + text;
    if (!trailing.empty()) out_ += "  " + trailing;
    out_ += "\n";
    last_line_ = std::max(last_line_, last);
  }

  void flush_comments_before(uint32_t line_number, std::size_t indent) {
    for (; next_ < comments_.size() && comments_[next_].line < line_number; ++next_) {
      if (done_[next_]) continue;
      separate(comments_[next_].line);
      out_ += std::string(indent, ' ') + comments_[next_].text + "\n";
      last_line_ = std::max(last_line_, comments_[next_].line);
      done_[next_] = true;
    }
  }

  // One blank line where the source had at least one.
  void separate(uint32_t line_number) {
    if (out_.empty() || last_line_ == 0 || line_number <= last_line_ + 1) return;
    const SourceFile& source = *file_.source;
    for (uint32_t l = last_line_ + 1; l < line_number; ++l) {
      std::string_view text = source.line_text(l);
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) {
        out_ += "\n";
        return;
      }
    }
  }

  bool comments_inside(const Statement& statement) const {
    for (std::size_t i = next_; i < comments_.size(); ++i) {
      if (done_[i]) continue;
      const Comment& comment = comments_[i];
      if (comment.line > statement.last_line) break;
      if (comment.line > statement.first_line || (comment.line == statement.first_line && comment.own_line)) return true;
      if (!comment.own_line && comment.line < statement.last_line && comment.line >= statement.first_line) return true;
    }
    return false;
  }

  // `head PRED`, broken before top-level `or`/`and` terms when too long.
  void predicate_line(const Statement& statement, std::size_t indent, const std::string& head, const Expr& expr,
                      const std::string& tail) {
    predicate_lines(statement.first_line, statement.last_line, indent, head, expr, tail);
  }

  void predicate_lines(uint32_t first, uint32_t last, std::size_t indent, const std::string& head, const Expr& expr,
                       const std::string& tail) {
    std::string text = head + print_expr(expr) + tail;
    if (indent + text.size() <= kLineWidth) {
      line(first, last, indent, text);
      return;
    }
    const std::vector<Expr>* terms = nullptr;
    std::string joiner;
    int minimum = 0;
    if (const auto* any = std::get_if<OrExpr>(&expr.node)) {
      terms = &any->terms;
      joiner = "or ";
      minimum = 2;
    } else if (const auto* all = std::get_if<AndExpr>(&expr.node)) {
      terms = &all->terms;
      joiner = "and ";
      minimum = 3;
    }
    if (!terms) {
      if (const auto* set_test = std::get_if<Test>(&expr.node); set_test && set_test->is_set && !set_test->values.empty()) {
        // One long set: its items wrapped inside the braces.
        std::vector<std::string> lines{head + fmt::format("{} {} {{", field_name(set_test->field), op_text(set_test->op))};
        std::string current;
        for (std::size_t i = 0; i < set_test->values.size(); ++i) {
          std::string item = print_literal(set_test->values[i]) + (i + 1 < set_test->values.size() ? "," : "");
          if (!current.empty() && indent + 2 + current.size() + 1 + item.size() > kLineWidth) {
            lines.push_back("  " + current);
            current.clear();
          }
          current += (current.empty() ? "" : " ") + item;
        }
        lines.push_back("  " + current);
        lines.push_back("}" + tail);
        for (std::size_t i = 0; i < lines.size(); ++i) line(first, i + 1 == lines.size() ? last : first, indent, lines[i]);
        return;
      }
      line(first, last, indent, text);
      return;
    }
    std::vector<std::string> lines{head + print_at(terms->front(), minimum)};
    for (std::size_t i = 1; i < terms->size(); ++i) lines.push_back(std::string(4, ' ') + joiner + print_at((*terms)[i], minimum));
    lines.back() += tail;
    for (std::size_t i = 0; i < lines.size(); ++i) line(first, i + 1 == lines.size() ? last : first, indent, lines[i]);
  }

  void options_block(const Statement& statement, const std::string& head, const std::optional<Expr>& expr,
                     const std::vector<Option>& options) {
    if (expr) predicate_lines(statement.first_line, statement.first_line, 0, head, *expr, " {");
    else line(statement.first_line, statement.first_line, 0, head + "{");
    for (const auto& option : options)
      line(option.span.line, option.span.line, 2, option.key + " = " + print_value(option.value));
    line(statement.last_line, statement.last_line, 0, "}");
  }

  void with_options(const Statement& statement, const std::string& head, const std::vector<Option>& options,
                    const std::optional<Expr>& expr) {
    std::string inline_options = options.empty() ? "" : " " + options_inline(options);
    if (options.empty() && expr) {
      predicate_line(statement, 0, head, *expr, "");
      return;
    }
    std::string predicate_text = expr ? print_expr(*expr) + " " : "";
    std::string one_line = head + predicate_text + (expr ? inline_options.substr(1) : options_inline(options));
    if (one_line.size() <= kLineWidth && !comments_inside(statement)) {
      line(statement.first_line, statement.last_line, 0, one_line);
      return;
    }
    options_block(statement, head, expr, options);
  }

  void statement_(const Statement& statement) {
    std::visit([&](const auto& node) { print_node(node, statement); }, statement.node);
  }

  void print_node(const Import& node, const Statement& s) {
    line(s.first_line, s.last_line, 0,
         "import " + quote(node.path) + (node.with.empty() ? "" : " with " + options_inline(node.with)));
  }
  void print_node(const Param& node, const Statement& s) {
    line(s.first_line, s.last_line, 0, "param " + node.name + " = " + print_value(node.value));
  }
  void print_node(const SetDecl& node, const Statement& s) {
    if (node.options.empty()) predicate_line(s, 0, "set " + print_name(node.name) + " : ", node.expr, " {}");
    else with_options(s, "set " + print_name(node.name) + " : ", node.options, node.expr);
  }
  void print_node(const KeepFrozen&, const Statement& s) { line(s.first_line, s.last_line, 0, "keep frozen in groups"); }
  void print_node(const ModeDecl& node, const Statement& s) {
    line(s.first_line, s.last_line, 0,
         node.off ? "mode off" : node.mode == GroupMode::overlap ? "mode overlap" : "mode first_match");
  }
  void print_node(const MatchWithout& node, const Statement& s) {
    line(s.first_line, s.last_line, 0, "match names without " + quote(node.prefix));
  }
  void print_node(const StagesDecl& node, const Statement& s) {
    std::vector<std::string> entries;
    for (const auto& [stage, patterns] : node.stages) {
      std::string entry = print_literal(stage) + ": {";
      for (std::size_t i = 0; i < patterns.size(); ++i) entry += (i ? ", " : "") + print_literal(patterns[i]);
      entries.push_back(entry + "}");
    }
    std::string one_line = "stages { ";
    for (std::size_t i = 0; i < entries.size(); ++i) one_line += (i ? ", " : "") + entries[i];
    one_line += " }";
    if (one_line.size() <= kLineWidth && !comments_inside(s)) {
      line(s.first_line, s.last_line, 0, entries.empty() ? "stages {}" : one_line);
      return;
    }
    line(s.first_line, s.first_line, 0, "stages {");
    for (std::size_t i = 0; i < entries.size(); ++i) {
      uint32_t at = node.stages[i].first.span.line;
      line(at, at, 2, entries[i]);
    }
    line(s.last_line, s.last_line, 0, "}");
  }
  void print_node(const Let& node, const Statement& s) {
    if (node.value) line(s.first_line, s.last_line, 0, "let " + node.name + " = " + print_value(*node.value));
    else predicate_line(s, 0, "let " + node.name + " = ", node.expr, "");
  }
  void print_node(const Select& node, const Statement& s) {
    predicate_line(s, 0, "select " + print_name(node.name) + " : ", node.expr, "");
  }
  void print_node(const GroupDecl& node, const Statement& s) {
    with_options(s, "group " + print_name(node.name) + (node.expr ? " : " : " "), node.options, node.expr);
  }
  void print_node(const Defaults& node, const Statement& s) { with_options(s, "defaults ", node.options, std::nullopt); }
  void print_node(const Exclude& node, const Statement& s) {
    predicate_line(s, 0, "exclude " + print_name(node.name) + " : ", node.expr, "");
  }
  void print_node(const Freeze& node, const Statement& s) { predicate_line(s, 0, "freeze : ", node.expr, ""); }
  void print_node(const Plan& node, const Statement& s) {
    line(s.first_line, s.first_line, 0, "plan " + print_name(node.name) + " {");
    for (const auto& item : node.items) {
      uint32_t first = item.span.line;
      std::string text = std::visit([](const auto& i) { return plan_item_text(i); }, item.node);
      line(first, first, 2, text);
    }
    line(s.last_line, s.last_line, 0, "}");
  }

  static std::string plan_item_text(const PlanFrom& item) {
    std::string out = "from ";
    for (std::size_t i = 0; i < item.sources.size(); ++i) out += (i ? " | " : "") + print_literal(item.sources[i]);
    return out;
  }
  static std::string plan_item_text(const PlanText& item) { return item.verb + " " + print_literal(item.text); }
  static std::string plan_item_text(const PlanPredicate& item) { return item.verb + " " + print_expr(item.expr); }
  static std::string plan_item_text(const PlanRewrite& item) {
    return item.verb + " " + print_literal(item.pattern) + " -> " + print_literal(item.replacement);
  }
  static std::string plan_item_text(const PlanTransform& item) {
    std::string out = item.verb + " " + item.action + " where " + print_expr(item.where);
    if (!item.options.empty()) out += " " + options_inline(item.options);
    return out;
  }
  static std::string plan_item_text(const PlanSurgery& item) {
    std::string out = item.verb + " " + print_literal(item.pattern);
    for (const auto& other : item.others) out += ", " + print_literal(other);
    out += " ->";
    for (std::size_t i = 0; i < item.outputs.size(); ++i) out += (i ? ", " : " ") + print_literal(item.outputs[i]);
    if (!item.options.empty()) out += " " + options_inline(item.options);
    return out;
  }
  static std::string plan_item_text(const PlanWords& item) { return item.verb + " " + item.word; }
  static std::string plan_item_text(const PlanLoad& item) {
    std::string out = "load";
    for (const auto& option : item.options) out += " " + option.key + " = " + print_value(option.value);
    return out;
  }

  const File& file_;
  std::vector<Comment> comments_;
  std::vector<bool> done_;
  std::string out_;
  std::size_t next_ = 0;
  uint32_t last_line_ = 0;
};

}  // namespace

std::string_view field_name(Field field) {
  switch (field) {
    case Field::name: return "name";
    case Field::module: return "module";
    case Field::rank: return "rank";
    case Field::shape: return "shape";
    case Field::dtype: return "dtype";
    case Field::kind: return "kind";
    case Field::type: return "type";
    case Field::stage: return "stage";
    case Field::source: return "source";
  }
  return "name";
}

std::string_view op_text(TestOp op) {
  switch (op) {
    case TestOp::eq: return "==";
    case TestOp::ne: return "!=";
    case TestOp::lt: return "<";
    case TestOp::le: return "<=";
    case TestOp::gt: return ">";
    case TestOp::ge: return ">=";
    case TestOp::in: return "in";
    case TestOp::starts: return "starts";
    case TestOp::ends: return "ends";
    case TestOp::contains: return "contains";
    case TestOp::matches: return "~";
    case TestOp::under: return "under";
    case TestOp::is: return "is";
  }
  return "==";
}

std::string print_literal(const Literal& literal) {
  switch (literal.kind) {
    case Literal::Kind::string: return quote(literal.text);
    case Literal::Kind::regex: {
      std::string out = "/";
      for (std::size_t i = 0; i < literal.text.size(); ++i) {
        char c = literal.text[i];
        if (c == '\\' && i + 1 < literal.text.size()) {
          out += c;
          out += literal.text[++i];
        } else if (c == '/') {
          out += "\\/";
        } else {
          out += c;
        }
      }
      return out + "/";
    }
    default: return literal.text;
  }
}

std::string print_name(const std::string& name) {
  bool word = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) word = word && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  return word ? name : quote(name);
}

std::string print_expr(const Expr& expr) {
  return std::visit(
      [](const auto& node) -> std::string {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Test>) {
          return test_text(node);
        } else if constexpr (std::is_same_v<Node, Ref>) {
          return node.name;
        } else if constexpr (std::is_same_v<Node, Flag>) {
          switch (node.which) {
            case Flag::Which::true_: return "true";
            case Flag::Which::false_: return "false";
            case Flag::Which::trainable: return "trainable";
            case Flag::Which::frozen: return "frozen";
            case Flag::Which::new_: return "new";
          }
          return "true";
        } else if constexpr (std::is_same_v<Node, NotExpr>) {
          return "not " + print_at(*node.term, 3);
        } else {
          bool is_or = std::is_same_v<Node, OrExpr>;
          std::string out;
          for (std::size_t i = 0; i < node.terms.size(); ++i) {
            if (i > 0) out += is_or ? " or " : " and ";
            out += print_at(node.terms[i], is_or ? 2 : 3);
          }
          return out;
        }
      },
      expr.node);
}

std::string print_value(const Value& value) {
  return std::visit(
      [](const auto& node) -> std::string {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Literal>) {
          return print_literal(node);
        } else if constexpr (std::is_same_v<Node, ValueList>) {
          std::string out = "[";
          for (std::size_t i = 0; i < node.items.size(); ++i) out += (i ? ", " : "") + print_value(node.items[i]);
          return out + "]";
        } else if constexpr (std::is_same_v<Node, ValueNeg>) {
          return "-" + value_at(*node.operand, 3);
        } else if constexpr (std::is_same_v<Node, ValueCallNode>) {
          std::string out = node.function + "(";
          for (std::size_t i = 0; i < node.args.size(); ++i) out += (i ? ", " : "") + print_value(node.args[i]);
          if (node.where) out += (node.args.empty() ? "" : " where ") + print_expr(**node.where);
          return out + ")";
        } else {
          int own = node.op == "+" || node.op == "-" ? 1 : node.op == "**" ? 4 : 2;
          // Left-associative operators need parentheses on an equal-precedence right side. `**` is
          // right-associative and takes a unary minus on its right, not on its left: (-2) ** 2, 2 ** -1.
          int left = node.op == "**" ? own + 1 : own;
          int right = node.op == "**" ? 3 : own + 1;
          return value_at(*node.lhs, left) + " " + node.op + " " + value_at(*node.rhs, right);
        }
      },
      value.node);
}

std::string print_file(const File& file) { return Printer(file).run(); }

}  // namespace taxon::tx
