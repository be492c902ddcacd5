// Lowering's predicates: rule expressions to the IR's tests, each field's operators and values checked, bindings inlined.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "engine/dtype.hpp"
#include "engine/regex.hpp"
#include "grammar/tx_lower_internal.hpp"

namespace taxon::tx {
namespace {

std::string_view op_list(Field field) {
  switch (field) {
    case Field::name: return "==, !=, in, starts, ends, contains, ~ (regex)";
    case Field::module: return "==, !=, in, starts, ends, contains, ~ (regex), under";
    case Field::rank: return "==, !=, <, <=, >, >=, in";
    case Field::shape: return "==, !=";
    case Field::type: return "==, !=, in (the class or one it inherits from), is (the class itself)";
    case Field::dtype:
    case Field::kind:
    case Field::stage:
    case Field::source: return "==, !=, in";
  }
  return "";
}

}  // namespace

namespace detail {

Predicate Lowering::lower(const Expr& expr) {
  return std::visit([&](const auto& node) { return lower_node(node, expr.span); }, expr.node);
}

Predicate Lowering::lower_node(const AndExpr& node, const SourceSpan& span) {
  AllOf all;
  for (const auto& term : node.terms) all.terms.push_back(lower(term));
  return Predicate{std::move(all), span};
}

Predicate Lowering::lower_node(const OrExpr& node, const SourceSpan& span) {
  AnyOf any;
  for (const auto& term : node.terms) any.terms.push_back(lower(term));
  return Predicate{std::move(any), span};
}

Predicate Lowering::lower_node(const NotExpr& node, const SourceSpan& span) { return Predicate{Not{lower(*node.term)}, span}; }

Predicate Lowering::lower_node(const Flag& flag, const SourceSpan& span) {
  switch (flag.which) {
    case Flag::Which::true_: return Predicate{Constant{true}, span};
    case Flag::Which::false_: return Predicate{Constant{false}, span};
    case Flag::Which::trainable: return Predicate{RequiresGrad{true}, span};
    case Flag::Which::frozen: return Predicate{RequiresGrad{false}, span};
    case Flag::Which::new_: return Predicate{NewlyInitialized{}, span};
  }
  return Predicate{Constant{false}, span};
}

Predicate Lowering::lower_node(const Ref& ref, const SourceSpan& span) {
  auto found = bindings_.find(ref.name);
  if (found == bindings_.end() && values_.contains(ref.name)) {
    diagnostics_.error(code::unknown_identifier, span, fmt::format("'{}' is a value, not a predicate", ref.name),
                       "values go in options (`lr_mult = " + ref.name + "`); a predicate is defined with "
                       "`let NAME = TEST`");
    return Predicate{Constant{false}, span};
  }
  if (found == bindings_.end()) {
    std::vector<std::string> names;
    for (const auto& [name, binding] : bindings_) names.push_back(name);
    diagnostics_.error(code::unknown_identifier, span, fmt::format("unknown name '{}'", ref.name),
                       suggest(ref.name, names, "define it first with `let " + ref.name + " = ...`"));
    return Predicate{Constant{false}, span};
  }
  found->second.used = true;
  // Bindings are inlined, and each may use the one before twice: `let b = a or a` doubles.
  expanded_ += found->second.size;
  if (expanded_ > kMaxExpandedNodes) {
    if (!reported_expansion_)
      diagnostics_.error(code::expands_too_far, span,
                         fmt::format("the rules expand to more than {} tests once bindings are inlined", kMaxExpandedNodes),
                         "bindings that use each other several times multiply; combine the tests in one binding");
    reported_expansion_ = true;
    return Predicate{Constant{false}, span};
  }
  return found->second.predicate;
}

Predicate Lowering::lower_node(const Test& test, const SourceSpan& span) {
  auto bad_op = [&]() {
    diagnostics_.error(code::bad_operator, test.op_span,
                       fmt::format("`{}` does not apply to {}", op_text(test.op), field_name(test.field)),
                       fmt::format("{} takes {}", field_name(test.field), op_list(test.field)));
    return Predicate{Constant{false}, span};
  };
  auto negate_if_ne = [&](Predicate predicate) {
    return test.op == TestOp::ne ? Predicate{Not{std::move(predicate)}, span} : std::move(predicate);
  };
  switch (test.field) {
    case Field::name:
    case Field::module: {
      StringField field = test.field == Field::name ? StringField::name : StringField::module;
      if (test.op == TestOp::under) {
        if (test.field != Field::module) return bad_op();
        auto paths = strings(test, "module paths");
        return Predicate{ModuleUnder{std::move(paths)}, span};
      }
      MatchOp op;
      switch (test.op) {
        case TestOp::eq:
        case TestOp::ne:
        case TestOp::in: op = MatchOp::equals; break;
        case TestOp::starts: op = MatchOp::starts; break;
        case TestOp::ends: op = MatchOp::ends; break;
        case TestOp::contains: op = MatchOp::contains; break;
        case TestOp::matches: op = MatchOp::regex; break;
        default: return bad_op();
      }
      std::vector<std::string> patterns;
      if (op == MatchOp::regex) {
        for (const auto& value : test.values) {
          if (value.kind != Literal::Kind::regex) {
            diagnostics_.error(code::bad_value, value.span, "`~` takes a /regex/",
                               value.kind == Literal::Kind::string
                                   ? fmt::format("write /{}/, or use == / starts / ends / contains for literal text", value.text)
                                   : std::string("write the pattern between slashes: /^blocks\\.\\d+\\./"));
            continue;
          }
          check_pattern(value);
          patterns.push_back(value.text);
        }
      } else {
        patterns = strings(test, "text");
      }
      return negate_if_ne(Predicate{StringMatch{field, op, std::move(patterns)}, span});
    }
    case Field::rank: return lower_rank(test, span, bad_op);
    case Field::shape: {
      if (test.op != TestOp::eq && test.op != TestOp::ne) return bad_op();
      if (!test.is_shape) {
        diagnostics_.error(code::bad_value, test.values.front().span, "a shape is written [d0, d1, ...]",
                           "use _ for a dimension of any size, e.g. shape == [_, 768]");
        return Predicate{Constant{false}, span};
      }
      ShapeIs shape;
      for (const auto& value : test.values)
        shape.dims.push_back(value.kind == Literal::Kind::wildcard ? std::nullopt : std::optional<int64_t>(integer(value, int64_t{1} << 62)));
      return negate_if_ne(Predicate{std::move(shape), span});
    }
    case Field::dtype: {
      if (test.op != TestOp::eq && test.op != TestOp::ne && test.op != TestOp::in) return bad_op();
      std::vector<std::string> dtypes;
      for (const auto& value : test.values) {
        std::string dtype = canonical_dtype(value.text);
        if (dtype.empty()) {
          diagnostics_.error(code::bad_value, value.span, fmt::format("unknown dtype '{}'", value.text),
                             suggest(value.text, dtype_spellings(), "dtypes are PyTorch's names: float32, bfloat16, float16, int64, ..."));
          continue;
        }
        dtypes.push_back(dtype);
      }
      return negate_if_ne(Predicate{DtypeIn{std::move(dtypes)}, span});
    }
    case Field::kind: {
      if (test.op != TestOp::eq && test.op != TestOp::ne && test.op != TestOp::in) return bad_op();
      bool parameter = false, buffer = false;
      for (const Literal& value : test.values) {
        if (value.text != "parameter" && value.text != "buffer") {
          diagnostics_.error(code::bad_value, value.span, fmt::format("unknown kind '{}'", value.text),
                             "kind is `parameter` or `buffer`");
          return Predicate{Constant{false}, span};
        }
        (value.text == "buffer" ? buffer : parameter) = true;
      }
      if (!parameter && !buffer) return Predicate{Constant{false}, span};  // `kind in {}`
      // Both kinds stay two tests, not `true`: a rule that names kind sees buffers too.
      AnyOf kinds;
      if (parameter) kinds.terms.push_back(Predicate{KindIs{TensorKind::parameter}, span});
      if (buffer) kinds.terms.push_back(Predicate{KindIs{TensorKind::buffer}, span});
      return negate_if_ne(kinds.terms.size() == 1 ? std::move(kinds.terms.front()) : Predicate{std::move(kinds), span});
    }
    case Field::type: {
      if (test.op != TestOp::eq && test.op != TestOp::ne && test.op != TestOp::in && test.op != TestOp::is) return bad_op();
      return negate_if_ne(Predicate{ModuleTypeIn{strings(test, "class names"), test.op == TestOp::is}, span});
    }
    case Field::source: {  // which input of `taxon apply` (1, 2, ...)
      if (test.op != TestOp::eq && test.op != TestOp::ne && test.op != TestOp::in) return bad_op();
      std::vector<std::string> sources;
      for (const auto& value : test.values) sources.push_back(value.text);
      return negate_if_ne(Predicate{StringMatch{StringField::source, MatchOp::equals, std::move(sources)}, span});
    }
    case Field::stage: {
      if (test.op != TestOp::eq && test.op != TestOp::ne && test.op != TestOp::in) return bad_op();
      std::vector<std::string> stages;
      for (const auto& value : test.values) stages.push_back(value.text);
      return negate_if_ne(Predicate{StageIn{std::move(stages)}, span});
    }
  }
  return Predicate{Constant{false}, span};
}

template <typename BadOp>
Predicate Lowering::lower_rank(const Test& test, const SourceSpan& span, BadOp bad_op) {
  if (test.op == TestOp::starts || test.op == TestOp::ends || test.op == TestOp::contains ||
      test.op == TestOp::matches || test.op == TestOp::under)
    return bad_op();
  std::vector<int64_t> values;
  for (const auto& value : test.values) values.push_back(integer(value));
  if (test.op == TestOp::in) return Predicate{RankIn{std::move(values)}, span};
  if (values.size() != 1 || test.is_set) {
    diagnostics_.error(code::bad_value, test.values.front().span, "compare rank with one number",
                       "use `rank in {1, 2}` for several");
    return Predicate{Constant{false}, span};
  }
  int64_t n = values.front();
  auto below = [&](int64_t limit) {  // ranks 0 .. limit-1
    RankIn in;
    for (int64_t r = 0; r < limit; ++r) in.ranks.push_back(r);
    return Predicate{std::move(in), span};
  };
  switch (test.op) {
    case TestOp::eq: return Predicate{RankIn{{n}}, span};
    case TestOp::ne: return Predicate{Not{Predicate{RankIn{{n}}, span}}, span};
    case TestOp::lt: return below(n);
    case TestOp::le: return below(n + 1);
    case TestOp::gt: return Predicate{Not{below(n + 1)}, span};
    case TestOp::ge: return Predicate{Not{below(n)}, span};
    default: return bad_op();
  }
}

std::vector<std::string> Lowering::strings(const Test& test, std::string_view what) {
  std::vector<std::string> out;
  for (const auto& value : test.values) {
    if (value.kind == Literal::Kind::regex) {
      diagnostics_.error(code::bad_value, value.span, fmt::format("`{}` compares {} literally; this is a /regex/",
                                                                  op_text(test.op), what),
                         fmt::format("write `{} ~ /{}/` to match a regex", field_name(test.field), value.text));
      continue;
    }
    out.push_back(value.text);
  }
  return out;
}

// A rank (at most 64, as PyTorch allows) or a shape size.
int64_t Lowering::integer(const Literal& value, int64_t most) {
  int64_t number = 0;
  auto [end, error] = std::from_chars(value.text.data(), value.text.data() + value.text.size(), number);
  if (value.kind != Literal::Kind::number || error != std::errc() || end != value.text.data() + value.text.size() ||
      number > most) {
    diagnostics_.error(code::bad_value, value.span,
                       most == 64 ? fmt::format("expected a rank, a whole number from 0 to 64, found '{}'", value.text)
                                  : fmt::format("expected a size, a whole number, found '{}'", value.text),
                       "ranks and shape sizes are whole numbers");
    return -1;
  }
  return number;
}

void Lowering::check_pattern(const Literal& value) {
  if (auto problem = check_regex(value.text)) diagnostics_.error(problem->code, value.span, problem->message, problem->hint);
}

}  // namespace detail

}  // namespace taxon::tx
