// The taxon language's syntax tree: what `taxon fmt` prints and what
// lowering turns into the rule IR. Every node keeps its source span.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/ir.hpp"
#include "engine/source.hpp"

namespace taxon::tx {

// A literal as written: "text", /regex/, 12, 0.5, an identifier, or `_`.
struct Literal {
  enum class Kind { string, regex, number, word, wildcard };
  Kind kind = Kind::string;
  std::string text;  // unquoted and unescaped for strings; as written otherwise
  SourceSpan span;
};

enum class Field { name, module, rank, shape, dtype, kind, type, stage, source };
enum class TestOp { eq, ne, lt, le, gt, ge, in, starts, ends, contains, matches, under, is };

struct Expr;

// `field op value`, e.g. name starts {"head.", "meta_"}, rank == 1, shape == [_, 768].
struct Test {
  Field field = Field::name;
  TestOp op = TestOp::eq;
  std::vector<Literal> values;
  bool is_set = false;    // the values were written as {...}
  bool is_shape = false;  // the values were written as [...]
  SourceSpan field_span, op_span;
};

// A reference to a `let` binding.
struct Ref {
  std::string name;
};

// true, false, trainable, frozen, new.
struct Flag {
  enum class Which { true_, false_, trainable, frozen, new_ } which = Which::true_;
};

struct AndExpr {
  std::vector<Expr> terms;
};
struct OrExpr {
  std::vector<Expr> terms;
};
struct NotExpr {
  Box<Expr> term;
};

struct Expr {
  std::variant<Test, Ref, Flag, AndExpr, OrExpr, NotExpr> node;
  SourceSpan span;
};

// Option values: numbers, strings, booleans, lists, and arithmetic over the
// named captures of the group's regexes.
struct Value;
struct ValueList {
  std::vector<Value> items;
};
struct ValueBinaryOp {
  std::string op;  // + - * / **
  Box<Value> lhs, rhs;
};
struct ValueNeg {
  Box<Value> operand;
};
// min(a, b), max(a, b), clamp(x, low, high); an aggregate `max(i where PRED)`, `count(PRED)`.
struct ValueCallNode {
  std::string function;
  std::vector<Value> args;
  std::optional<Box<Expr>> where;  // aggregates: the tensors they range over
};
struct Value {
  // Literal: number, string, word (true/false/null, a capture, a value binding or parameter).
  std::variant<Literal, ValueList, ValueBinaryOp, ValueNeg, ValueCallNode> node;
  SourceSpan span;
};

struct Option {
  std::string key;
  Value value;
  SourceSpan span;
};

// Statements ---------------------------------------------------------------

struct Import {
  std::string path;
  SourceSpan path_span;
  std::vector<Option> with;  // import "x.tx" with { decay = 0.75 }: the file's parameters
};
struct ModeDecl {
  GroupMode mode = GroupMode::first_match;
  bool off = false;  // `mode off`: every group empty, the default group takes all (linnaeus ENABLED: false)
};
struct MatchWithout {
  std::string prefix;
};
struct StagesDecl {
  std::vector<std::pair<Literal, std::vector<Literal>>> stages;
};
struct Let {
  std::string name;
  SourceSpan name_span;
  Expr expr;                   // a predicate, unless `value` is set
  std::optional<Value> value;  // let decay = 0.75, let betas = [0.9, 0.999]
};
// `param NAME = VALUE`: a value the file's user may set (`import ... with { NAME = ... }`,
// `--param NAME=VALUE`); VALUE is the default.
struct Param {
  std::string name;
  SourceSpan name_span;
  Value value;
};
// `set NAME : PRED { options }`: options for what PRED selects, in whatever group it joins.
struct SetDecl {
  std::string name;
  SourceSpan name_span;
  Expr expr;
  std::vector<Option> options;
};
// `keep frozen in groups`: frozen parameters stay in the groups that match them (linnaeus).
struct KeepFrozen {};
struct Select {
  std::string name;
  SourceSpan name_span;
  Expr expr;
};
// `group NAME : PRED { options }`, or `group NAME { options }` for the group
// that takes every trainable parameter no other group took.
struct GroupDecl {
  std::string name;
  SourceSpan name_span;
  std::optional<Expr> expr;
  std::vector<Option> options;
};
struct Defaults {
  std::vector<Option> options;
};
struct Exclude {
  std::string name;
  SourceSpan name_span;
  Expr expr;
};
struct Freeze {
  Expr expr;
};

// Plan items: parsed and printed here; carried out by the checkpoint runtime.
struct PlanFrom {
  std::vector<Literal> sources;  // strings, or the word `root`
};
struct PlanText {  // strip "module." / prefix "module."
  std::string verb;
  Literal text;
};
struct PlanPredicate {  // drop PRED / keep PRED
  std::string verb;
  Expr expr;
};
struct PlanRewrite {  // rename /re/ -> "template" / copy /re/ -> "template" / renumber /re/ -> "template"
  std::string verb;
  Literal pattern;
  Literal replacement;
};
struct PlanTransform {  // resize rel_pos_bias where PRED { options }
  std::string verb;
  std::string action;
  Expr where;
  std::vector<Option> options;
};
struct PlanSurgery {  // split /re/ -> "a", "b" | fuse /re/, "b" -> "ab" | stack /re/ -> "s" | unstack /re/ -> "t"
  std::string verb;
  Literal pattern;
  std::vector<Literal> others;   // fuse: the parts after the first
  std::vector<Literal> outputs;
  std::vector<Option> options;
};
struct PlanWords {  // skip mismatched
  std::string verb;
  std::string word;
};
struct PlanLoad {  // load strict = false
  std::vector<Option> options;
};
struct PlanItem {
  std::variant<PlanFrom, PlanText, PlanPredicate, PlanRewrite, PlanTransform, PlanSurgery, PlanWords, PlanLoad> node;
  SourceSpan span;
};
struct Plan {
  std::string name;
  SourceSpan name_span;
  std::vector<PlanItem> items;
};

struct Comment {
  std::string text;  // from '#' to the end of the line
  uint32_t line = 0;
  bool own_line = false;  // nothing but whitespace before it on its line
};

struct Statement {
  std::variant<Import, ModeDecl, MatchWithout, StagesDecl, Let, Param, Select, GroupDecl, SetDecl, Defaults, Exclude,
               Freeze, KeepFrozen, Plan>
      node;
  SourceSpan span;
  uint32_t first_line = 0, last_line = 0;
};

struct File {
  SourceRef source;
  std::vector<Statement> statements;
  std::vector<Comment> comments;  // in source order
};

std::string_view field_name(Field field);
std::string_view op_text(TestOp op);

}  // namespace taxon::tx
