// Each optimizer pass alone, on an input built for it: the exact IR it
// writes. tests/runtime/passes_test.cpp shows that results do not change
// over the corpus; a pass that rewrote nothing would pass that. Every case
// here first requires the expected IR to differ from the input, so a no-op
// pass fails it, and so does one that rewrites wrongly or reorders what its
// contract (the pass's header) says it keeps in order.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "engine/passes/dedupe.hpp"
#include "engine/passes/flatten.hpp"
#include "engine/passes/fold.hpp"
#include "engine/passes/optimize.hpp"
#include "engine/passes/order.hpp"

using namespace taxon;

namespace {

// The IR as one line, in the order it is stored: `and(...)`, `or(...)`,
// `not(...)`, `name starts {"a", "b"}`, `rank {1, 2}`, ...; no canonical
// sorting (predicate_key sorts, which would hide a reordering).
std::string show(const Predicate& predicate);

template <class T>
std::string join(const std::vector<T>& items, bool quote) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_same_v<T, std::string>) out += quote ? fmt::format("\"{}\"", item) : item;
    else out += fmt::format("{}", item);
  }
  return "{" + out + "}";
}

std::string show_terms(const char* op, const std::vector<Predicate>& terms) {
  std::string out = std::string(op) + "(";
  for (std::size_t i = 0; i < terms.size(); ++i) out += (i ? ", " : "") + show(terms[i]);
  return out + ")";
}

std::string show(const Predicate& predicate) {
  return std::visit(
      [](const auto& node) -> std::string {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Constant>) {
          return node.value ? "true" : "false";
        } else if constexpr (std::is_same_v<Node, StringMatch>) {
          static const char* fields[] = {"name", "module", "source"};
          static const char* ops[] = {"==", "starts", "ends", "contains", "~"};
          return fmt::format("{} {} {}", fields[static_cast<int>(node.field)], ops[static_cast<int>(node.op)],
                             join(node.patterns, true));
        } else if constexpr (std::is_same_v<Node, RankIn>) {
          return "rank " + join(node.ranks, false);
        } else if constexpr (std::is_same_v<Node, ShapeIs>) {
          std::vector<std::string> dims;
          for (const auto& dim : node.dims) dims.push_back(dim ? std::to_string(*dim) : "_");
          return "shape " + join(dims, false);
        } else if constexpr (std::is_same_v<Node, DtypeIn>) {
          return "dtype " + join(node.dtypes, false);
        } else if constexpr (std::is_same_v<Node, KindIs>) {
          return node.kind == TensorKind::buffer ? "kind buffer" : "kind parameter";
        } else if constexpr (std::is_same_v<Node, ModuleTypeIn>) {
          return "type " + join(node.types, false);
        } else if constexpr (std::is_same_v<Node, ModuleUnder>) {
          return "under " + join(node.paths, true);
        } else if constexpr (std::is_same_v<Node, RequiresGrad>) {
          return node.value ? "trainable" : "frozen";
        } else if constexpr (std::is_same_v<Node, NewlyInitialized>) {
          return "new";
        } else if constexpr (std::is_same_v<Node, StageIn>) {
          return "stage " + join(node.stages, false);
        } else if constexpr (std::is_same_v<Node, AllOf>) {
          return show_terms("and", node.terms);
        } else if constexpr (std::is_same_v<Node, AnyOf>) {
          return show_terms("or", node.terms);
        } else if constexpr (std::is_same_v<Node, Not>) {
          return "not(" + show(*node.term) + ")";
        }
      },
      predicate.node);
}

// Builders. `line` stands for where a term was written, so that the cases can
// check which of several equal terms a pass keeps.
SourceSpan at(uint32_t line) { return SourceSpan{nullptr, line, 1, 1}; }
Predicate node(PredicateNode n, uint32_t line = 0) { return Predicate{std::move(n), at(line)}; }
Predicate all(std::vector<Predicate> terms, uint32_t line = 0) { return node(AllOf{std::move(terms)}, line); }
Predicate any(std::vector<Predicate> terms, uint32_t line = 0) { return node(AnyOf{std::move(terms)}, line); }
Predicate negate(Predicate term, uint32_t line = 0) { return node(Not{std::move(term)}, line); }
Predicate name(MatchOp op, std::vector<std::string> patterns, uint32_t line = 0) {
  return node(StringMatch{StringField::name, op, std::move(patterns)}, line);
}
Predicate module(MatchOp op, std::vector<std::string> patterns, uint32_t line = 0) {
  return node(StringMatch{StringField::module, op, std::move(patterns)}, line);
}
Predicate rank(std::vector<int64_t> ranks, uint32_t line = 0) { return node(RankIn{std::move(ranks)}, line); }
Predicate dtype(std::vector<std::string> dtypes) { return node(DtypeIn{std::move(dtypes)}); }
Predicate type(std::vector<std::string> types) { return node(ModuleTypeIn{std::move(types)}); }
Predicate stage(std::vector<std::string> stages) { return node(StageIn{std::move(stages)}); }
Predicate under(std::vector<std::string> paths) { return node(ModuleUnder{std::move(paths)}); }
Predicate constant(bool value) { return node(Constant{value}); }
Predicate kind(TensorKind k) { return node(KindIs{k}); }

// `pass(input)` must print as `expected`, and `expected` must not be the input
// as it stands: the case fails for a pass that returns its input.
template <class Pass>
Predicate rewrites(Pass pass, const Predicate& input, const std::string& expected) {
  REQUIRE_MESSAGE(show(input) != expected, "the case must need a rewrite");
  Predicate out = pass(input);
  CHECK(show(out) == expected);
  return out;
}

}  // namespace

// ---- flatten ---------------------------------------------------------------

TEST_CASE("flatten: nested all-of becomes one all-of - the inner terms in its place") {
  Predicate input = all({name(MatchOp::starts, {"a."}), all({rank({2}), all({kind(TensorKind::parameter), dtype({"bf16"})})}),
                         name(MatchOp::ends, {".weight"})});
  rewrites(flatten, input, R"(and(name starts {"a."}, rank {2}, kind parameter, dtype {bf16}, name ends {".weight"}))");
}

TEST_CASE("flatten: nested any-of becomes one any-of - and an and/or of one term is that term") {
  Predicate input = any({rank({1}), any({kind(TensorKind::buffer), all({name(MatchOp::contains, {"norm"})})})});
  rewrites(flatten, input, R"(or(rank {1}, kind buffer, name contains {"norm"}))");
  rewrites(flatten, all({any({rank({2})})}), "rank {2}");
}

TEST_CASE("flatten: an any-of inside an all-of (and the reverse) stays nested") {
  // Only the same combination is spliced; the inner `or` is flattened in place.
  Predicate input = all({any({rank({1}), any({rank({2})})}), name(MatchOp::starts, {"x."})});
  rewrites(flatten, input, R"(and(or(rank {1}, rank {2}), name starts {"x."}))");
}

TEST_CASE("flatten: tests of one field and operator under an any-of become one set - where the first stood") {
  Predicate input = any({name(MatchOp::ends, {".bias"}, 1), rank({1}, 2), name(MatchOp::ends, {".gamma", ".beta"}, 3),
                         module(MatchOp::ends, {"norm"}, 4), name(MatchOp::starts, {"head."}, 5), dtype({"fp16"}),
                         type({"LayerNorm"}), dtype({"bf16"}), type({"RMSNorm", "LayerNorm"}), stage({"0"}), stage({"late"}),
                         name(MatchOp::ends, {".bias"}, 6)});
  Predicate out = rewrites(flatten, input,
                           R"(or(name ends {".bias", ".gamma", ".beta", ".bias"}, rank {1}, module ends {"norm"}, )"
                           R"(name starts {"head."}, dtype {fp16, bf16}, type {LayerNorm, RMSNorm, LayerNorm}, stage {0, late}))");
  // The merged set keeps the span of the first test; repeats are dedupe's to remove.
  CHECK(std::get<AnyOf>(out.node).terms[0].span.line == 1);
}

TEST_CASE("flatten: tests of one field under an all-of are not merged into a set") {
  // `name ends "a" and name ends "b"` is not `name ends {"a", "b"}`: the all-of only loses its nesting.
  Predicate input = all({name(MatchOp::ends, {"a"}), all({name(MatchOp::ends, {"b"})})});
  rewrites(flatten, input, R"(and(name ends {"a"}, name ends {"b"}))");
}

TEST_CASE("flatten: under a not - the negated predicate is flattened") {
  Predicate input = negate(any({name(MatchOp::contains, {"x"}), any({name(MatchOp::contains, {"y"})})}));
  rewrites(flatten, input, R"(not(name contains {"x", "y"}))");
}

// ---- fold ------------------------------------------------------------------

TEST_CASE("fold: true and false are absorbed by an all-of or an any-of") {
  Predicate a = name(MatchOp::starts, {"a."}), b = type({"Linear"});
  rewrites(fold, all({constant(true), a, constant(true), b}), R"(and(name starts {"a."}, type {Linear}))");
  rewrites(fold, all({a, constant(false), b}), "false");
  rewrites(fold, any({a, constant(true)}), "true");
  rewrites(fold, any({constant(false), a, constant(false), b}), R"(or(name starts {"a."}, type {Linear}))");
  rewrites(fold, all({constant(true), a}), R"(name starts {"a."})");  // one term left: that term
  rewrites(fold, all({constant(true)}), "true");                       // none left: the neutral constant
  rewrites(fold, any({constant(false)}), "false");
}

TEST_CASE("fold: a not of a constant is folded - a double not removed") {
  rewrites(fold, negate(constant(true)), "false");
  rewrites(fold, negate(negate(rank({1}))), "rank {1}");
  rewrites(fold, negate(all({constant(true), constant(true)})), "false");
  rewrites(fold, all({negate(negate(rank({1}))), negate(constant(false)), kind(TensorKind::buffer)}), "and(rank {1}, kind buffer)");
}

TEST_CASE("fold: empty sets are false - an empty prefix - suffix - substring - or under path is true") {
  rewrites(fold, name(MatchOp::starts, {}), "false");
  rewrites(fold, rank({}), "false");
  rewrites(fold, dtype({}), "false");
  rewrites(fold, type({}), "false");
  rewrites(fold, stage({}), "false");
  rewrites(fold, under({}), "false");
  rewrites(fold, name(MatchOp::starts, {"x.", ""}), "true");
  rewrites(fold, name(MatchOp::ends, {""}), "true");
  rewrites(fold, name(MatchOp::contains, {""}), "true");
  rewrites(fold, under({"encoder", ""}), "true");
  // `== ""` and an empty regex are not folded: `==` needs the empty name, and RE2 owns regex semantics.
  CHECK(show(fold(name(MatchOp::equals, {""}))) == R"(name == {""})");
  CHECK(show(fold(name(MatchOp::regex, {""}))) == R"(name ~ {""})");
}

TEST_CASE("fold: rank sets of an all-of are intersected - of an any-of united - and go first") {
  Predicate out = rewrites(fold, all({name(MatchOp::starts, {"a."}), rank({1, 2}, 7), type({"Linear"}), rank({3, 2}, 9)}),
                           R"(and(rank {2}, name starts {"a."}, type {Linear}))");
  CHECK(std::get<AllOf>(out.node).terms[0].span.line == 7);  // the first rank test's span
  rewrites(fold, any({name(MatchOp::ends, {".bias"}), rank({2}), rank({1})}), R"(or(rank {1, 2}, name ends {".bias"}))");
  rewrites(fold, all({rank({1}), name(MatchOp::ends, {".bias"}), rank({2})}), "false");  // no rank is both
  rewrites(fold, all({rank({2}), rank({2, 3})}), "rank {2}");
}

TEST_CASE("fold: nested chains are folded from the inside out") {
  Predicate input = any({all({constant(true), negate(constant(true))}), all({rank({4}), constant(true)})});
  rewrites(fold, input, "rank {4}");
}

// ---- dedupe ----------------------------------------------------------------

TEST_CASE("dedupe: a term equal to an earlier one in an all-of or an any-of goes - the first stays in place") {
  // Equal as predicate_key sees them: the order of a set's members and spans do not count.
  Predicate input = all({name(MatchOp::ends, {".a", ".b"}, 1), rank({2}, 2), name(MatchOp::ends, {".b", ".a"}, 3),
                         kind(TensorKind::parameter), rank({2}, 4)});
  Predicate out = rewrites(dedupe, input, R"(and(name ends {".a", ".b"}, rank {2}, kind parameter))");
  const auto& terms = std::get<AllOf>(out.node).terms;
  CHECK(terms[0].span.line == 1);
  CHECK(terms[1].span.line == 2);
  rewrites(dedupe, any({type({"LayerNorm"}), stage({"0"}), type({"LayerNorm"})}), "or(type {LayerNorm}, stage {0})");
}

TEST_CASE("dedupe: a repeated member of a set goes - the first occurrence keeps its place") {
  rewrites(dedupe, name(MatchOp::ends, {".bias", ".gamma", ".bias", ".beta", ".gamma"}),
           R"(name ends {".bias", ".gamma", ".beta"})");
  rewrites(dedupe, rank({2, 1, 2}), "rank {2, 1}");
  rewrites(dedupe, dtype({"bf16", "fp32", "bf16"}), "dtype {bf16, fp32}");
  rewrites(dedupe, type({"LayerNorm", "RMSNorm", "LayerNorm"}), "type {LayerNorm, RMSNorm}");
  rewrites(dedupe, stage({"1", "0", "1"}), "stage {1, 0}");
  rewrites(dedupe, under({"enc", "dec", "enc"}), R"(under {"enc", "dec"})");
}

TEST_CASE("dedupe: terms are deduplicated after their own insides - under a not too") {
  // and(or(x, x), or(x)) -> the first or becomes or(x), equal to the second, which goes.
  Predicate x = name(MatchOp::contains, {"x"});
  rewrites(dedupe, all({any({x, x}), any({x})}), R"(and(or(name contains {"x"})))");
  rewrites(dedupe, negate(any({rank({1}), rank({1})})), "not(or(rank {1}))");
}

// ---- order -----------------------------------------------------------------

TEST_CASE("order: the terms of an all-of are sorted by cost - equal costs keep their order") {
  Predicate input = all({name(MatchOp::regex, {"^blocks\\."}), type({"LayerNorm"}), name(MatchOp::starts, {"a."}, 1),
                         rank({1}), kind(TensorKind::parameter), name(MatchOp::ends, {".b"}, 2), name(MatchOp::equals, {"x"})});
  rewrites(order_by_cost, input,
           R"(and(kind parameter, rank {1}, name == {"x"}, name starts {"a."}, name ends {".b"}, type {LayerNorm}, )"
           R"(name ~ {"^blocks\."}))");
}

TEST_CASE("order: the terms of an any-of are sorted - inside a not and nested chains too") {
  Predicate input = any({negate(all({name(MatchOp::regex, {"r"}), stage({"0"}), dtype({"fp32"})})), rank({1})});
  rewrites(order_by_cost, input, R"(or(rank {1}, not(and(dtype {fp32}, stage {0}, name ~ {"r"}))))");
}

TEST_CASE("order: costs - flag tests under shape tests under literals under type lookups under regexes") {
  CHECK(evaluation_cost(constant(true)) == 0);
  CHECK(evaluation_cost(kind(TensorKind::buffer)) == 1);
  CHECK(evaluation_cost(rank({1})) == 2);
  CHECK(evaluation_cost(name(MatchOp::equals, {"a"})) == 3);
  CHECK(evaluation_cost(name(MatchOp::starts, {"a", "b"})) == 8);  // per pattern
  CHECK(evaluation_cost(name(MatchOp::contains, {"a"})) == 6);
  CHECK(evaluation_cost(type({"Linear"})) == 8);
  CHECK(evaluation_cost(stage({"0"})) == 20);
  CHECK(evaluation_cost(name(MatchOp::regex, {"a"})) == 40);
  CHECK(evaluation_cost(all({rank({1}), name(MatchOp::regex, {"a"})})) == 1 + 2 + 40);
  CHECK(evaluation_cost(negate(rank({1}))) == 2);
}

TEST_CASE("order: only the order changes - sets keep their members - nothing is merged or dropped") {
  Predicate input = all({name(MatchOp::ends, {".z", ".a"}), rank({3, 1}), rank({3, 1})});
  rewrites(order_by_cost, input, R"(and(rank {3, 1}, rank {3, 1}, name ends {".z", ".a"}))");
}

// ---- the pipeline and the program -------------------------------------------

TEST_CASE("optimize: flatten - fold - flatten - dedupe - order on one predicate") {
  // and(true, and(name ~ r, or(name ends ".b", name ends ".a", false)), rank {1, 2}, rank {2})
  //  -> the constants folded, the chain spliced, the suffixes merged, the rank sets intersected, cheap first.
  Predicate input = all({constant(true),
                         all({name(MatchOp::regex, {"^x"}),
                              any({name(MatchOp::ends, {".b"}), name(MatchOp::ends, {".a"}), constant(false)})}),
                         rank({1, 2}), rank({2}), name(MatchOp::regex, {"^x"})});
  rewrites(static_cast<Predicate (*)(const Predicate&)>(optimize), input,
           R"(and(rank {2}, name ends {".b", ".a"}, name ~ {"^x"}))");
}

TEST_CASE("optimize: a program keeps its selections and groups - how many - in order - with names - options and spans") {
  // evaluate() runs optimized rule i and reports it as rule i of the program as written.
  Program program;
  program.strip_name_prefix = "module.";
  program.selections.push_back(Selection{"frozen", all({constant(true), under({"stem"})}), Universe::all_tensors, at(1), true});
  program.selections.push_back(Selection{"wide", any({rank({2}), rank({3})}), Universe::parameters, at(2), false});
  GroupSet groups;
  groups.mode = GroupMode::overlap;
  groups.default_name = "REST";
  groups.groups.push_back(Group{"head", all({all({name(MatchOp::starts, {"head."})})}), {GroupOption{"lr_mult", {10.0}, at(4)}}, at(3)});
  groups.groups.push_back(Group{"no_decay", any({name(MatchOp::ends, {".bias"}), name(MatchOp::ends, {".gamma"})}),
                                {GroupOption{"weight_decay", {0.0}, at(6)}}, at(5)});
  groups.groups.push_back(Group{"never", all({constant(false), rank({1})}), {}, at(7)});
  program.groups = groups;

  Program out = optimize(program);
  REQUIRE(out.selections.size() == 2);
  CHECK(out.selections[0].name == "frozen");
  CHECK(out.selections[0].universe == Universe::all_tensors);
  CHECK(out.selections[0].freezes);
  CHECK(out.selections[0].span.line == 1);
  CHECK(show(out.selections[0].predicate) == R"(under {"stem"})");
  CHECK(out.selections[1].name == "wide");
  CHECK_FALSE(out.selections[1].freezes);
  CHECK(show(out.selections[1].predicate) == "rank {2, 3}");
  REQUIRE(out.groups);
  CHECK(out.groups->mode == GroupMode::overlap);
  CHECK(out.groups->default_name == "REST");
  REQUIRE(out.groups->groups.size() == 3);  // a group that can match nothing stays, in its place
  std::vector<std::string> names, predicates;
  for (const auto& group : out.groups->groups) {
    names.push_back(group.name);
    predicates.push_back(show(group.predicate));
  }
  CHECK(names == std::vector<std::string>{"head", "no_decay", "never"});
  CHECK(predicates == std::vector<std::string>{R"(name starts {"head."})", R"(name ends {".bias", ".gamma"})", "false"});
  CHECK(out.groups->groups[0].span.line == 3);
  REQUIRE(out.groups->groups[0].options.size() == 1);
  CHECK(out.groups->groups[0].options[0].key == "lr_mult");
  CHECK(out.groups->groups[0].options[0].span.line == 4);
  CHECK(out.groups->groups[1].options[0].key == "weight_decay");
  CHECK(out.strip_name_prefix == program.strip_name_prefix);
  // The program as written is untouched: evaluate() reads captures and reports from it.
  CHECK(show(program.groups->groups[0].predicate) == R"(and(and(name starts {"head."})))");
}
