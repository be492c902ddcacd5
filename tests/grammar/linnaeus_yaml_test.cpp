// The linnaeus YAML front end: what each filter lowers to, and the position
// and code of every error. End-to-end behaviour on real dumps is in the CLI
// golden files (tests/golden/eval/).
#include <doctest/doctest.h>

#include "grammar/linnaeus_yaml.hpp"

using namespace taxon;

namespace {

struct Lowered {
  Program program;
  Diagnostics diagnostics;
};

Lowered lower(std::string text) {
  Lowered out;
  auto source = std::make_shared<SourceFile>(SourceFile{"rules.yaml", std::move(text)});
  out.program = lower_linnaeus_yaml(source, out.diagnostics);
  return out;
}

const Predicate& root_filter(const Lowered& lowered) {
  REQUIRE(lowered.program.selections.size() == 1);
  CHECK(lowered.program.selections[0].name == "filter");
  return lowered.program.selections[0].predicate;
}

std::string codes(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics.items()) out += (out.empty() ? "" : " ") + d.code + "@" + std::to_string(d.span.line) + ":" + std::to_string(d.span.col);
  return out;
}

}  // namespace

TEST_CASE("a name filter: contains by default - TYPE and MATCH_TYPE case-insensitive - DDP prefix stripped") {
  auto lowered = lower("TYPE: Name\nPATTERNS: [head, meta_]\n");
  CHECK(lowered.diagnostics.items().empty());
  const auto& match = std::get<StringMatch>(root_filter(lowered).node);
  CHECK(match.op == MatchOp::contains);
  CHECK(match.patterns == std::vector<std::string>{"head", "meta_"});
  CHECK(lowered.program.strip_name_prefix == "module.");

  CHECK(std::get<StringMatch>(root_filter(lower("TYPE: name\nMATCH_TYPE: StartsWith\nPATTERNS: [a]\n")).node).op == MatchOp::starts);
  CHECK(std::get<StringMatch>(root_filter(lower("TYPE: name\nMATCH_TYPE: endswith\nPATTERNS: [a]\n")).node).op == MatchOp::ends);
  CHECK(std::get<StringMatch>(root_filter(lower("TYPE: name\nMATCH_TYPE: regex\nPATTERNS: ['^a']\n")).node).op == MatchOp::regex);
}

TEST_CASE("every filter TYPE lowers to its predicate") {
  CHECK(std::get<RankIn>(root_filter(lower("TYPE: dimension\nDIMENSIONS: [1, 2]\n")).node).ranks == std::vector<int64_t>{1, 2});
  CHECK(std::get<ModuleTypeIn>(root_filter(lower("TYPE: layer_type\nLAYER_TYPES: [LayerNorm]\n")).node).types ==
        std::vector<std::string>{"LayerNorm"});
  CHECK(std::holds_alternative<NewlyInitialized>(root_filter(lower("TYPE: initialization\n")).node));
  CHECK(std::get<StageIn>(root_filter(lower("TYPE: stage_based\nSTAGES: [0, late]\n")).node).stages ==
        std::vector<std::string>{"0", "late"});

  auto conv = lower("TYPE: convolutional\nNAME_PATTERNS: [stem]\nLAYER_TYPES: [Conv2d]\n");
  const auto& all = std::get<AllOf>(root_filter(conv).node);
  REQUIRE(all.terms.size() == 3);
  CHECK(std::get<RankIn>(all.terms[0].node).ranks == std::vector<int64_t>{4});
  CHECK(std::get<StringMatch>(all.terms[1].node).patterns == std::vector<std::string>{"stem"});
  CHECK(std::get<ModuleTypeIn>(all.terms[2].node).types == std::vector<std::string>{"Conv2d"});

  auto tree = lower(
      "TYPE: AND\nFILTERS:\n  - TYPE: or\n    FILTERS: []\n  - TYPE: not\n    FILTER: {TYPE: dimension, DIMENSIONS: [1]}\n"
      "  - TYPE: all_except\n    EXCEPT: {TYPE: initialization}\n");
  CHECK(tree.diagnostics.items().empty());
  const auto& top = std::get<AllOf>(root_filter(tree).node);
  REQUIRE(top.terms.size() == 3);
  CHECK(std::get<AnyOf>(top.terms[0].node).terms.empty());
  CHECK(std::holds_alternative<RankIn>(std::get<Not>(top.terms[1].node).term->node));
  CHECK(std::holds_alternative<NewlyInitialized>(std::get<Not>(top.terms[2].node).term->node));
}

TEST_CASE("errors carry the position of the offending node") {
  CHECK(codes(lower("TYPE: nmae\nPATTERNS: [a]\n").diagnostics) == "T0201@1:7");
  CHECK(codes(lower("TYPE: name\nMATCH_TYPE: prefix\nPATTERNS: [a]\n").diagnostics) == "T0202@2:13");
  CHECK(codes(lower("TYPE: name\nMATCH_TYPE: contains\n").diagnostics) == "T0203@1:7");
  CHECK(codes(lower("TYPE: name\nPATTERNS: head\n").diagnostics) == "T0204@2:11");
  CHECK(codes(lower("TYPE: dimension\nDIMENSIONS: [1, two]\n").diagnostics) == "T0204@2:17");
  CHECK(codes(lower("TYPE: name\nMATCH_TYPE: regex\nPATTERNS: ['ok', 'bad(']\n").diagnostics) == "T0301@3:18");
  CHECK(codes(lower("TYPE: name\nMATCH_TYPE: regex\nPATTERNS: ['x(?=y)']\n").diagnostics) == "T0302@3:12");
  CHECK(codes(lower("TYPE: name\nPATTERNS: [a\n").diagnostics).rfind("T0101@", 0) == 0);
  CHECK(codes(lower("- a\n- b\n").diagnostics) == "T0206@1:1");
  CHECK(codes(lower("MODEL: {NAME: x}\n").diagnostics) == "T0206@1:1");
}

TEST_CASE("a lower-case key is named in the error - with the spelling to use") {
  auto lowered = lower("type: name\npatterns: [a]\n");
  REQUIRE(lowered.diagnostics.items().size() == 1);
  CHECK(lowered.diagnostics.items()[0].message == "a filter needs the key TYPE; found 'type'");
  CHECK(lowered.diagnostics.items()[0].hint == "keys are case-sensitive: write TYPE");
}

TEST_CASE("every error in a file is reported - not just the first") {
  auto lowered = lower(
      "TYPE: or\nFILTERS:\n  - {TYPE: nmae, PATTERNS: [a]}\n  - {TYPE: name, MATCH_TYPE: bogus, PATTERNS: [a]}\n"
      "  - {TYPE: dimension}\n");
  CHECK(codes(lowered.diagnostics) == "T0201@3:12 T0202@4:30 T0203@5:12");
}

TEST_CASE("unknown keys warn with a suggestion and do not fail") {
  auto lowered = lower("TYPE: name\nPATTERN: [a]\nPATTERNS: [b]\n");
  REQUIRE(lowered.diagnostics.items().size() == 1);
  CHECK(lowered.diagnostics.items()[0].severity == Severity::warning);
  CHECK(lowered.diagnostics.items()[0].hint == "did you mean 'PATTERNS'?");
}

TEST_CASE("a config: groups in overlap mode with typed options - DEFAULT's settings inherited") {
  auto lowered = lower(R"(OPTIMIZER:
  PARAMETER_GROUPS:
    ENABLED: True
    DEFAULT: {OPTIMIZER: adamw, WEIGHT_DECAY: 0.05}
    NOTES: skipped, not a mapping
    HEAD:
      FILTER: {TYPE: name, PATTERNS: [head]}
      LR_MULTIPLIER: 10
      BETAS: [0.9, 0.999]
      WEIGHT_DECAY: '1e-3'
      OPTIMIZER: yes
LOSS: {GRAD_WEIGHTING: {TASK: {EXCLUDE_PATTERNS: [head]}}}
)");
  // linnaeus reads FILTER, OPTIMIZER, WEIGHT_DECAY and LR_MULTIPLIER from a group and ignores the rest.
  REQUIRE(lowered.diagnostics.items().size() == 1);
  CHECK(lowered.diagnostics.items()[0].code == "T0205");
  CHECK(lowered.diagnostics.items()[0].message.find("BETAS") != std::string::npos);
  REQUIRE(lowered.program.groups);
  const GroupSet& set = *lowered.program.groups;
  CHECK(set.mode == GroupMode::overlap);
  CHECK(set.enabled);
  REQUIRE(set.groups.size() == 1);
  const Group& head = set.groups[0];
  CHECK(head.name == "HEAD");
  REQUIRE(head.options.size() == 3);
  CHECK(std::get<int64_t>(head.options[0].value.value) == 10);
  CHECK(std::get<std::string>(head.options[1].value.value) == "1e-3");  // quoted: a string
  CHECK(std::get<bool>(head.options[2].value.value) == true);          // PyYAML's yes
  REQUIRE(set.inherited_options.size() == 3);
  CHECK(set.inherited_options[0].key == "OPTIMIZER");
  CHECK(set.inherited_options[1].key == "WEIGHT_DECAY");
  CHECK(set.inherited_options[2].key == "LR_MULTIPLIER");

  REQUIRE(lowered.program.selections.size() == 1);
  CHECK(lowered.program.selections[0].name == "gradnorm_exclude");
  // The exclusion always takes frozen parameters too.
  const auto& any = std::get<AnyOf>(lowered.program.selections[0].predicate.node);
  REQUIRE(any.terms.size() == 2);
  CHECK(std::get<RequiresGrad>(any.terms[1].node).value == false);
}

TEST_CASE("ENABLED: false - a group without FILTER - a TASK without exclusions") {
  auto disabled = lower("OPTIMIZER: {PARAMETER_GROUPS: {ENABLED: false}}\n");
  CHECK_FALSE(disabled.program.groups->enabled);

  CHECK(codes(lower("OPTIMIZER:\n  PARAMETER_GROUPS:\n    HEAD: {LR_MULTIPLIER: 2}\n").diagnostics) == "T0203@3:5");

  auto task = lower("LOSS:\n  GRAD_WEIGHTING:\n    TASK: {TYPE: gradnorm}\n");
  CHECK(codes(task.diagnostics) == "T0208@3:5");
  const auto& any = std::get<AnyOf>(task.program.selections.at(0).predicate.node);
  CHECK(std::get<StringMatch>(any.terms[0].node).patterns == std::vector<std::string>{"head", "meta_"});
}

TEST_CASE("a stage map in the rule file - beside a root filter tree") {
  auto lowered = lower("TYPE: stage_based\nSTAGES: [late]\nparameter_groups_metadata:\n  stages:\n    early: [a]\n    late: [b, c]\n");
  CHECK(lowered.diagnostics.items().empty());
  REQUIRE(lowered.program.stage_map);
  CHECK(lowered.program.stage_map->stages.size() == 2);
  CHECK(lowered.program.stage_map->stages[1].second == std::vector<std::string>{"b", "c"});
}
