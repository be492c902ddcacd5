// Captures kept tensor by tensor (Matcher::remember_captures): what a second question is answered
// from must be what the regex gives when run again, for matches, misses, groups that take no part,
// empty groups, and names too long to keep.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>

#include "engine/matcher.hpp"

using namespace taxon;

namespace {

std::string random_memo_name(std::mt19937& random) {
  static const char* const kParts[] = {"blocks", "layers", "attn", "mlp", "norm", "zzz", "0", "12", "7", "", "weight", "bias"};
  std::string name;
  for (std::size_t n = 1 + random() % 6; n > 0; --n) {
    if (!name.empty()) name += '.';
    name += kParts[random() % std::size(kParts)];
  }
  if (random() % 8 == 0) name = std::string(240 + random() % 30, 'x') + "." + name;  // around the 255-byte limit
  return name;
}

Predicate memo_regexes() {
  StringMatch names{StringField::name, MatchOp::regex,
                    {R"(^blocks\.(?P<i>\d+)\.(?P<kind>attn|mlp)?)", R"((?P<tail>[a-z]*)$|^(?P<never>zzz\.zzz))"}};
  StringMatch modules{StringField::module, MatchOp::regex, {R"(^(?P<owner>[a-z]+)(?P<depth>\.\d+)?)"}};
  return Predicate{AnyOf{{Predicate{names, {}}, Predicate{modules, {}}}}, {}};
}

}  // namespace

TEST_CASE("captures kept per tensor are the captures the regexes give when run again") {
  std::mt19937 random(1202);
  TensorTable table;
  for (int i = 0; i < 400; ++i) {
    TensorRecord& record = table.tensors.emplace_back();
    std::string name = random_memo_name(random);
    record.name = table.text(name);
    record.module = table.text(name.substr(0, name.rfind('.') == std::string::npos ? 0 : name.rfind('.')));
  }
  Program program;
  Predicate predicate = memo_regexes();
  Diagnostics diagnostics;
  Matcher fresh(program, table, {}), remembering(program, table, {});
  fresh.prepare(predicate, diagnostics);
  remembering.prepare(predicate, diagnostics);
  REQUIRE(diagnostics.items().empty());
  remembering.remember_captures(predicate);

  std::vector<std::size_t> order(table.tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  std::size_t bound = 0;
  for (int round = 0; round < 2; ++round)  // the first asks the regexes and keeps; the second is answered from what was kept
    for (std::size_t i : order) {
      Captures expected, got;
      fresh.captures(predicate, i, expected);
      remembering.captures(predicate, i, got);
      CAPTURE(table.tensors[i].name);
      CHECK(got.to_map() == expected.to_map());
      bound += expected.to_map().size();
    }
  CHECK(bound > 400);  // the names do bind captures
}
