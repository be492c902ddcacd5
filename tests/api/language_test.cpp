// The language as people write it, through the public API: option values computed as Python
// computes the same expression (expected values are Python's), tests as they read.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "taxon/taxon.hpp"

namespace {

// The options of the one group a rule file declares, evaluated on a one-tensor model.
std::map<std::string, double> values_of(const std::string& options) {
  taxon::Rules rules = taxon::Rules::parse("group g : true { " + options + " }\n");
  REQUIRE_MESSAGE(rules.ok(), (rules.findings().empty() ? "" : rules.findings().front().rendered));
  taxon::Report report = taxon::evaluate(rules, taxon::Model({{.name = "w", .shape = {2}}}));
  std::map<std::string, double> out;
  for (const auto& option : report.groups.at(0).options)
    if (option.number) out[option.name] = *option.number;
  return out;
}

}  // namespace

TEST_CASE("values: ** binds tighter than unary minus and is right-associative - as in Python") {
  auto values = values_of("a = -2 ** 2, b = (-2) ** 2, c = 2 ** -1, d = 2 ** 3 ** 2, e = -2 ** -2, f = 2 * -3 ** 2");
  CHECK(values.at("a") == -4.0);    // python3 -c 'print(-2 ** 2)'
  CHECK(values.at("b") == 4.0);
  CHECK(values.at("c") == 0.5);
  CHECK(values.at("d") == 512.0);
  CHECK(values.at("e") == -0.25);
  CHECK(values.at("f") == -18.0);
}

TEST_CASE("kind takes in as every other field does") {
  taxon::Model model({{.name = "bn.weight", .shape = {4}},
                      {.name = "bn.running_mean", .shape = {4}, .kind = "buffer", .requires_grad = false}});
  auto selected = [&](const std::string& test) {
    taxon::Rules rules = taxon::Rules::parse("select s : " + test + "\n");
    REQUIRE_MESSAGE(rules.ok(), (rules.findings().empty() ? "" : rules.findings().front().rendered));
    return taxon::evaluate(rules, model).selections.at(0).tensors;
  };
  CHECK(selected("kind in {buffer}") == std::vector<std::string>{"bn.running_mean"});
  CHECK(selected("kind in {parameter}") == std::vector<std::string>{"bn.weight"});
  CHECK(selected("kind in {parameter, buffer}") == std::vector<std::string>{"bn.weight", "bn.running_mean"});
  CHECK(selected("kind == buffer") == std::vector<std::string>{"bn.running_mean"});
  CHECK_FALSE(taxon::Rules::parse("select s : kind in {buffers}\n").ok());
}
