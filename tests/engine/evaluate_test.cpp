// The evaluator over hand-built tables: every predicate, universes, tied
// weights, both group modes, DEFAULT and what evaluation reports.
#include <tuple>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/evaluate.hpp"

using namespace taxon;

namespace {

// Appends a parameter to `table` (its strings stored there) and returns it.
TensorRecord& param(TensorTable& table, std::string_view name, std::vector<int64_t> shape, std::string_view module_type = "Linear") {
  TensorRecord& record = table.tensors.emplace_back();
  record.name = table.text(name);
  record.shape = table.dims(shape);
  record.dtype = "float32";
  record.module = record.name.substr(0, record.name.rfind('.'));
  record.module_type = table.text(module_type);
  return record;
}

TensorTable small_table() {
  TensorTable table;
  table.has_module_types = true;
  param(table, "embed.weight", {100, 8}, "Embedding");
  param(table, "blocks.0.norm.weight", {8}, "LayerNorm");
  param(table, "blocks.0.norm.bias", {8}, "LayerNorm");
  param(table, "blocks.0.fc.weight", {8, 8});
  param(table, "blocks.0.fc.bias", {8});
  param(table, "conv.weight", {8, 3, 3, 3}, "Conv2d");
  param(table, "head.weight", {10, 8});
  param(table, "blocks.0.norm.running_mean", {8}, "BatchNorm2d").kind = TensorKind::buffer;
  return table;
}

Predicate p(PredicateNode node) { return Predicate{std::move(node), {}}; }

std::vector<std::string> names(const TensorTable& table, const std::vector<std::size_t>& indices) {
  std::vector<std::string> out;
  for (auto i : indices) out.emplace_back(table.tensors[i].name);
  return out;
}

std::vector<std::string> select(const TensorTable& table, Predicate predicate, Universe universe = Universe::parameters,
                                Program program = {}) {
  program.selections.push_back(Selection{"s", std::move(predicate), universe, {}});
  EvalResult result = evaluate(program, table);
  return names(table, result.selections.at(0).tensors);
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("string operators compare literally - regex is an unanchored search") {
  TensorTable table = small_table();
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::equals, {"head.weight"}})) == Names{"head.weight"});
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::starts, {"blocks.0.norm"}})) ==
        Names{"blocks.0.norm.weight", "blocks.0.norm.bias"});
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::ends, {".bias"}})) == Names{"blocks.0.norm.bias", "blocks.0.fc.bias"});
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::contains, {"fc", "embed"}})) ==
        Names{"embed.weight", "blocks.0.fc.weight", "blocks.0.fc.bias"});
  // A search, not a full match: "\d\.fc" hits inside the name.
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::regex, {R"(\d\.fc)"}})) ==
        Names{"blocks.0.fc.weight", "blocks.0.fc.bias"});
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::regex, {"^head"}})) == Names{"head.weight"});
  CHECK(select(table, p(StringMatch{StringField::module, MatchOp::equals, {"blocks.0.fc"}})) ==
        Names{"blocks.0.fc.weight", "blocks.0.fc.bias"});
}

TEST_CASE("rank - dtype - module type and requires_grad") {
  TensorTable table = small_table();
  table.tensors[6].dtype = "bfloat16";
  table.tensors[6].requires_grad = false;
  CHECK(select(table, p(RankIn{{4}})) == Names{"conv.weight"});
  CHECK(select(table, p(RankIn{{1, 4}})) == Names{"blocks.0.norm.weight", "blocks.0.norm.bias", "blocks.0.fc.bias", "conv.weight"});
  CHECK(select(table, p(DtypeIn{{"bfloat16"}})) == Names{"head.weight"});
  CHECK(select(table, p(ModuleTypeIn{{"LayerNorm", "Embedding"}})) ==
        Names{"embed.weight", "blocks.0.norm.weight", "blocks.0.norm.bias"});
  CHECK(select(table, p(RequiresGrad{false})) == Names{"head.weight"});
}

TEST_CASE("buffers are seen only by selections over all tensors") {
  TensorTable table = small_table();
  CHECK(select(table, p(KindIs{TensorKind::buffer})).empty());
  CHECK(select(table, p(KindIs{TensorKind::buffer}), Universe::all_tensors) == Names{"blocks.0.norm.running_mean"});
}

TEST_CASE("combinators: empty and matches all - empty or matches none") {
  TensorTable table = small_table();
  CHECK(select(table, p(AllOf{})).size() == 7);
  CHECK(select(table, p(AnyOf{})).empty());
  CHECK(select(table, p(Not{p(RankIn{{1, 2}})})) == Names{"conv.weight"});
  CHECK(select(table, p(AllOf{{p(RankIn{{1}}), p(Not{p(StringMatch{StringField::name, MatchOp::contains, {"norm"}})})}})) ==
        Names{"blocks.0.fc.bias"});
}

TEST_CASE("a stripped prefix is invisible to name rules - and output keeps the real names") {
  TensorTable table = small_table();
  for (auto& tensor : table.tensors) tensor.name = table.text("module." + std::string(tensor.name));
  Program program;
  program.strip_name_prefix = "module.";
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::starts, {"head"}}), Universe::parameters, program) ==
        Names{"module.head.weight"});
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::starts, {"head"}})).empty());
}

TEST_CASE("a tied tensor is selected once - under its first name - and owns every alias's module type") {
  TensorTable table = small_table();
  param(table, "lm_head.weight", {100, 8}, "Linear").tied_to = 0;  // shares storage with embed.weight
  CHECK(select(table, p(StringMatch{StringField::name, MatchOp::ends, {".weight"}})).size() == 5);
  // linnaeus's layer_type test is by identity: the Linear alias makes embed.weight a Linear's parameter.
  CHECK(select(table, p(ModuleTypeIn{{"Linear"}})) ==
        Names{"embed.weight", "blocks.0.fc.weight", "blocks.0.fc.bias", "head.weight"});
}

TEST_CASE("initialization: absent from the reference or another shape") {
  TensorTable table = small_table();
  ReferenceShapes reference;
  reference.shapes = {{"embed.weight", {90, 8}}, {"blocks.0.norm.weight", {8}}, {"blocks.0.norm.bias", {8}},
                      {"blocks.0.fc.weight", {8, 8}}, {"blocks.0.fc.bias", {8}}, {"conv.weight", {8, 3, 3, 3}}};
  Program program;
  program.selections.push_back(Selection{"new", p(NewlyInitialized{}), Universe::parameters, {}});
  EvalResult with_reference = evaluate(program, table, EvalOptions{&reference});
  CHECK(names(table, with_reference.selections[0].tensors) == Names{"embed.weight", "head.weight"});
  CHECK(with_reference.diagnostics.items().empty());

  EvalResult without = evaluate(program, table);
  CHECK(without.selections[0].tensors.size() == 7);
  REQUIRE(without.diagnostics.items().size() == 1);
  CHECK(without.diagnostics.items()[0].code == code::no_reference);
}

TEST_CASE("stage map: contains - the last stage listed wins - the rule file's map beats the table's") {
  TensorTable table = small_table();
  table.stage_map = StageMap{{{"0", {"embed", "blocks.0."}}, {"1", {"blocks.0.fc"}}}};
  CHECK(select(table, p(StageIn{{"0"}})) == Names{"embed.weight", "blocks.0.norm.weight", "blocks.0.norm.bias"});
  CHECK(select(table, p(StageIn{{"1"}})) == Names{"blocks.0.fc.weight", "blocks.0.fc.bias"});
  Program program;
  program.stage_map = StageMap{{{"1", {"head"}}}};
  CHECK(select(table, p(StageIn{{"1"}}), Universe::parameters, program) == Names{"head.weight"});

  TensorTable no_map = small_table();
  Program lookup;
  lookup.selections.push_back(Selection{"s", p(StageIn{{"0"}}), Universe::parameters, {}});
  EvalResult result = evaluate(lookup, no_map);
  CHECK(result.selections[0].tensors.empty());
  CHECK(result.diagnostics.items().at(0).code == code::no_stage_map);
}

TEST_CASE("module types missing: an error - never a silent empty set") {
  TensorTable table = small_table();
  table.has_module_types = false;
  for (auto& tensor : table.tensors) tensor.module_type = {};
  Program program;
  program.selections.push_back(Selection{"norms", p(ModuleTypeIn{{"LayerNorm"}}), Universe::parameters, {}});
  EvalResult result = evaluate(program, table);
  CHECK(result.diagnostics.has_errors());
  CHECK(result.diagnostics.items().at(0).code == code::needs_module_types);
}

namespace {

GroupSet two_groups(GroupMode mode) {
  GroupSet set;
  set.mode = mode;
  set.groups.push_back(Group{"no_decay", p(RankIn{{1}}), {GroupOption{"WEIGHT_DECAY", {0.0}, {}}}, {}});
  set.groups.push_back(Group{"blocks", p(StringMatch{StringField::name, MatchOp::starts, {"blocks."}}), {}, {}});
  set.default_options = {GroupOption{"WEIGHT_DECAY", {0.05}, {}}, GroupOption{"OPTIMIZER", {std::string("adamw")}, {}}};
  set.inherited_options = {GroupOption{"WEIGHT_DECAY", {0.05}, {}}, GroupOption{"LR_MULTIPLIER", {1.0}, {}}};
  return set;
}

}  // namespace

TEST_CASE("overlap mode: a tensor joins every matching group - and the overlap is listed") {
  TensorTable table = small_table();
  table.tensors[6].requires_grad = false;  // head.weight: frozen, so never DEFAULT
  Program program;
  program.groups = two_groups(GroupMode::overlap);
  EvalResult result = evaluate(program, table);
  REQUIRE(result.groups.size() == 3);
  CHECK(names(table, result.groups[0].tensors) == Names{"blocks.0.norm.weight", "blocks.0.norm.bias", "blocks.0.fc.bias"});
  CHECK(names(table, result.groups[1].tensors) ==
        Names{"blocks.0.norm.weight", "blocks.0.norm.bias", "blocks.0.fc.weight", "blocks.0.fc.bias"});
  CHECK(result.groups[2].is_default);
  CHECK(names(table, result.groups[2].tensors) == Names{"embed.weight", "conv.weight"});
  REQUIRE(result.overlaps.size() == 3);
  CHECK(result.group_names(result.overlaps[0].groups) == Names{"no_decay", "blocks"});
  CHECK(result.group_names(result.overlaps[0].assigned) == Names{"no_decay", "blocks"});
  // Effective options: own keys first, then inherited ones the group lacks.
  REQUIRE(result.groups[0].options.size() == 2);
  CHECK(result.groups[0].options[0].key == "WEIGHT_DECAY");
  CHECK(std::get<double>(result.groups[0].options[0].value.value) == 0.0);
  CHECK(result.groups[0].options[1].key == "LR_MULTIPLIER");
  CHECK(result.groups[2].options.size() == 3);
}

TEST_CASE("first-match mode: a tensor joins the first matching group only") {
  TensorTable table = small_table();
  Program program;
  program.groups = two_groups(GroupMode::first_match);
  EvalResult result = evaluate(program, table);
  CHECK(names(table, result.groups[1].tensors) == Names{"blocks.0.fc.weight"});
  REQUIRE(result.overlaps.size() == 3);
  CHECK(result.group_names(result.overlaps[0].assigned) == Names{"no_decay"});
  CHECK(names(table, result.groups[2].tensors) == Names{"embed.weight", "conv.weight", "head.weight"});
}

TEST_CASE("disabled groups: DEFAULT holds every trainable parameter - and a note says so") {
  TensorTable table = small_table();
  table.tensors[0].requires_grad = false;
  Program program;
  program.groups = two_groups(GroupMode::overlap);
  program.groups->enabled = false;
  EvalResult result = evaluate(program, table);
  CHECK(result.groups[0].tensors.empty());
  CHECK(result.groups[2].tensors.size() == 6);
  CHECK(result.overlaps.empty());
  REQUIRE(result.diagnostics.items().size() == 1);
  CHECK(result.diagnostics.items()[0].code == code::groups_disabled);
  CHECK(result.diagnostics.items()[0].severity == Severity::note);
}

TEST_CASE("evaluation warns about overlaps - groups that match nothing and fall-through to DEFAULT") {
  TensorTable table = small_table();
  Program program;
  program.groups = two_groups(GroupMode::overlap);
  program.groups->groups.push_back(Group{"dead", p(StringMatch{StringField::name, MatchOp::starts, {"nope."}}), {}, {}});
  EvalResult result = evaluate(program, table);
  std::vector<std::string> codes;
  for (const auto& d : result.diagnostics.items()) {
    codes.push_back(d.code);
    CHECK(d.severity == Severity::warning);
  }
  CHECK(codes == Names{std::string(code::group_overlap), std::string(code::matches_nothing), std::string(code::falls_to_default)});
  CHECK(result.diagnostics.items()[0].message.find("3 tensors matched by several groups (no_decay, blocks)") == 0);
  CHECK(result.diagnostics.items()[2].message ==
        "3 trainable parameters fall through to DEFAULT: embed.weight, conv.weight, head.weight");
}

namespace {

// Name selections, one per (name, operator, patterns), evaluated compiled and as written: both
// select the same tensors. Returns the as-written result.
EvalResult name_selections_agree(const TensorTable& table,
                                 const std::vector<std::tuple<std::string, MatchOp, std::vector<std::string>>>& selections) {
  Program program;
  for (const auto& [name, op, patterns] : selections)
    program.selections.push_back(Selection{name, p(StringMatch{StringField::name, op, patterns}), Universe::parameters, {}});
  EvalOptions plain;
  plain.optimize = false;
  EvalResult expected = evaluate(program, table, plain), got = evaluate(program, table);
  REQUIRE(got.selections.size() == expected.selections.size());
  for (std::size_t s = 0; s < got.selections.size(); ++s) {
    CAPTURE(got.selections[s].name);
    CHECK(got.selections[s].tensors == expected.selections[s].tensors);
  }
  return expected;
}

}  // namespace

TEST_CASE("the compiled evaluator answers names with non-ASCII bytes through its fallbacks - as written") {
  TensorTable table;
  table.has_module_types = true;
  for (const char* name : {"blöcks.0.weight", "blocks.0.weight", "blöcks.1.bias", "köpf.weight", "blocks.1.bias"})
    param(table, name, {4});
  EvalResult expected = name_selections_agree(table, {{"regex", MatchOp::regex, {"^bl.cks\\.\\d+\\.", "(?i)KÖPF"}},
                                                      {"starts", MatchOp::starts, {"blö"}},
                                                      {"ends", MatchOp::ends, {"ight"}},
                                                      {"contains", MatchOp::contains, {"ö"}},
                                                      {"equals", MatchOp::equals, {"köpf.weight", "blocks.1.bias"}}});
  // `.` is one code point in RE2 (blöcks matches ^bl.cks), and (?i) folds Ö: every name.
  CHECK(expected.selections[0].tensors == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("the compiled evaluator takes names 64 at a time - blocks with fallbacks and a partial last block agree") {
  TensorTable table;
  table.has_module_types = true;
  // 200 names: three whole blocks of 64 and 8 more; every 7th a non-ASCII name the DFA leaves
  // to its fallbacks (the patterns are ASCII, so the DFA takes them all), so that a block's
  // word gets bits from both.
  for (int i = 0; i < 200; ++i)
    param(table, fmt::format("{}.{}.{}", i % 7 == 3 ? "blöcks" : "blocks", i % 13, i % 2 ? "weight" : "bias"), {4});
  EvalResult expected = name_selections_agree(table, {{"regex", MatchOp::regex, {"^bl.cks\\.1\\d\\.", "\\.[3-5]\\.bias$"}},
                                                      {"starts", MatchOp::starts, {"blocks.1"}},
                                                      {"ends", MatchOp::ends, {"ight"}},
                                                      {"contains", MatchOp::contains, {"cks.3", ".12."}}});
  CHECK(expected.selections[2].tensors.size() == 100);  // ends "ight": the odd ones
  CHECK(expected.selections[2].tensors.back() == 199);
}
