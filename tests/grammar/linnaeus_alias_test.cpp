// YAML aliases in linnaeus filter trees: a filter named by an alias lowers once and is repeated from
// there (grammar/linnaeus_filters.cpp), so what it lowers to and what it reports must be what the
// same tree written out in full lowers to and reports. Random trees, some past the depth limit.
#include <algorithm>
#include <random>
#include <set>
#include <tuple>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/passes/predicate_key.hpp"
#include "grammar/linnaeus_yaml.hpp"

using namespace taxon;

namespace {

// One document twice: with anchors and aliases, and with every alias replaced by the text it names.
struct TwoSpellings {
  std::string with_aliases;
  std::string written_out;
};

constexpr const char* kHead = "OPTIMIZER:\n  PARAMETER_GROUPS:\n    g:\n      FILTER: ";

// Filters that lower cleanly, warn (with a suggestion), or fail in different ways.
constexpr const char* kLeaves[] = {
    "{TYPE: name, PATTERNS: [head]}",
    "{TYPE: name, MATCH_TYPE: startswith, PATTERNS: [blocks.]}",
    "{TYPE: nmae, PATTERNS: [x]}",
    "{TYPE: naTransferLearningLoaderns, PATTERNS: [x]}",
    "{TYPE: dimension, DIMENSIONS: [1], EXTRA: 1}",
    "{TYPE: name, MATCH_TYPE: regex, PATTERNS: ['(']}",
    "[not, a, mapping]",
    "{TYPE: layer_type}",
};

TwoSpellings random_tree(std::mt19937& random) {
  std::size_t anchors = 2 + random() % 7;
  std::vector<std::string> aliased, written;
  std::string definitions;
  for (std::size_t i = 0; i < anchors; ++i) {
    auto earlier = [&] { return static_cast<std::size_t>(random() % i); };
    std::string with_aliases, out;
    unsigned kind = i == 0 ? 0 : random() % 10;
    if (kind < 3) {
      with_aliases = out = kLeaves[random() % std::size(kLeaves)];
    } else if (kind < 8) {
      std::string type = kind < 6 ? "and" : "or";
      std::vector<std::string> terms, terms_out;
      for (std::size_t n = 1 + random() % 3; n > 0; --n) {
        std::size_t j = earlier();
        terms.push_back(fmt::format("*a{}", j));
        terms_out.push_back(written[j]);
      }
      with_aliases = fmt::format("{{TYPE: {}, FILTERS: [{}]}}", type, fmt::join(terms, ", "));
      out = fmt::format("{{TYPE: {}, FILTERS: [{}]}}", type, fmt::join(terms_out, ", "));
    } else {
      std::size_t j = earlier();
      with_aliases = fmt::format("{{TYPE: not, FILTER: *a{}}}", j);
      out = fmt::format("{{TYPE: not, FILTER: {}}}", written[j]);
    }
    definitions += fmt::format("a{}: &a{} {}\n", i, i, with_aliases);
    aliased.push_back(std::move(with_aliases));
    written.push_back(std::move(out));
  }
  return {definitions + kHead + fmt::format("*a{}\n", anchors - 1), std::string(kHead) + written.back() + "\n"};
}

// A chain of `not`s around a repeated filter, crossing the depth limit (100 filters) in places:
// the parts cut short are repeated at the depth they were cut at.
TwoSpellings deep_chain(std::mt19937& random) {
  std::vector<std::string> written{"{TYPE: nmae, PATTERNS: [x]}"};
  std::string definitions = "c0: &c0 {TYPE: nmae, PATTERNS: [x]}\n";
  std::size_t links = 100 + random() % 15, forks = 0;
  for (std::size_t i = 1; i <= links; ++i) {
    bool fork = forks < 6 && random() % 12 == 0;
    forks += fork;
    const std::string& inner = written.back();
    definitions += fork ? fmt::format("c{}: &c{} {{TYPE: or, FILTERS: [*c{}, *c{}]}}\n", i, i, i - 1, i - 1)
                        : fmt::format("c{}: &c{} {{TYPE: not, FILTER: *c{}}}\n", i, i, i - 1);
    written.push_back(fork ? fmt::format("{{TYPE: or, FILTERS: [{}, {}]}}", inner, inner)
                           : fmt::format("{{TYPE: not, FILTER: {}}}", inner));
  }
  // The chain's end under two parents at one depth, then one of them a level deeper: a parent of a
  // part cut short is cut short too, and is not repeated at another depth.
  std::size_t middle = links / 2;
  std::string wrapped = fmt::format("{{TYPE: or, FILTERS: [{}]}}", written[links]);
  definitions += fmt::format("w: &w {{TYPE: or, FILTERS: [*c{}]}}\n", links);
  return {definitions + kHead +
              fmt::format("{{TYPE: and, FILTERS: [{{TYPE: not, FILTER: *c{}}}, *w, {{TYPE: not, FILTER: *w}}, *c{}]}}\n", links, middle),
          std::string(kHead) + fmt::format("{{TYPE: and, FILTERS: [{{TYPE: not, FILTER: {}}}, {}, {{TYPE: not, FILTER: {}}}, {}]}}\n",
                                           written[links], wrapped, wrapped, written[middle])};
}

struct Outcome {
  std::string predicate;
  std::set<std::tuple<std::string, int, std::string, std::string>> findings;  // positions differ: not compared
};

Outcome outcome_of(const std::string& text) {
  Diagnostics diagnostics;
  Program program = lower_linnaeus_yaml(std::make_shared<SourceFile>(SourceFile{"rules.yaml", text}), diagnostics);
  Outcome out;
  if (program.groups && !program.groups->groups.empty()) out.predicate = predicate_key(program.groups->groups[0].predicate);
  for (const auto& d : diagnostics.items())
    out.findings.emplace(d.code, static_cast<int>(d.severity), d.message, d.hint);
  return out;
}

void check_same(const TwoSpellings& document) {
  Outcome aliased = outcome_of(document.with_aliases), written = outcome_of(document.written_out);
  INFO(document.with_aliases);
  CHECK(!aliased.predicate.empty());
  CHECK(aliased.predicate == written.predicate);
  CHECK(aliased.findings == written.findings);
}

}  // namespace

TEST_CASE("a filter repeated through aliases lowers as the tree written out in full") {
  std::mt19937 random(1201);
  for (int round = 0; round < 150; ++round) check_same(random_tree(random));
}

TEST_CASE("repeats cut short by the depth limit lower as the tree written out in full") {
  std::mt19937 random(2026);
  for (int round = 0; round < 6; ++round) {
    TwoSpellings document = deep_chain(random);
    check_same(document);
    auto findings = outcome_of(document.with_aliases).findings;
    CHECK(std::count_if(findings.begin(), findings.end(), [](const auto& f) { return std::get<0>(f) == "T0104"; }) == 1);
  }
}
