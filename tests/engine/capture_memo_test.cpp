// Captures kept tensor by tensor (Matcher::remember_captures): what a second question is answered
// from must be what the regex gives when run again, for matches, misses, groups that take no part,
// empty groups, and names too long to keep.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include <re2/re2.h>

#include "engine/evaluate.hpp"
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

// Over many tensors an aggregate's captures are read on several threads, each taking a part of
// the table: the values must be those one thread finds, the rules as written find, and RE2 gives.
TEST_CASE("aggregates read on several threads equal one thread's - and RE2's") {
  std::mt19937 random(4711);
  TensorTable table;
  const std::size_t count = 40000;  // over the size from which evaluation splits the work
  for (std::size_t i = 0; i < count; ++i) {
    TensorRecord& record = table.tensors.emplace_back();
    std::string name = random_memo_name(random);
    if (random() % 3) name = "blocks." + std::to_string(random() % 500) + "." + name;
    name += ".u" + std::to_string(i);  // a number of its own: a tensor read twice or never changes a count
    record.name = table.text(name);
    record.module = table.text(name.substr(0, name.rfind('.') == std::string::npos ? 0 : name.rfind('.')));
    if (random() % 10 == 0) record.kind = TensorKind::buffer;  // not a parameter: no aggregate reads it
    if (i > 0 && random() % 10 == 0) record.tied_to = i - 1;   // a second name: read once, under the first
  }
  auto aggregate = [](ValueAggregate::Op op, std::string capture) {
    if (capture == "u")
      return ValueExpr{ValueAggregate{op, capture, Predicate{StringMatch{StringField::name, MatchOp::regex, {R"(\.u(?P<u>\d+)$)"}}, {}}, "u"}};
    return ValueExpr{ValueAggregate{op, std::move(capture), memo_regexes(), "aggregate"}};
  };
  Program program;
  program.groups.emplace();
  Group group{"g", Predicate{Constant{true}, {}}, {}, {}};
  const std::vector<std::tuple<std::string, ValueAggregate::Op, std::string>> options = {
      {"max_i", ValueAggregate::Op::max, "i"},           {"min_i", ValueAggregate::Op::min, "i"},
      {"distinct_i", ValueAggregate::Op::count_distinct, "i"}, {"tensors", ValueAggregate::Op::count_tensors, ""},
      {"max_depth", ValueAggregate::Op::max, "depth"}, {"distinct_u", ValueAggregate::Op::count_distinct, "u"}};
  for (const auto& [key, op, capture] : options) {
    GroupOption option{key, {}, {}};
    option.computed = aggregate(op, capture);
    option.computed_text = key;
    group.options.push_back(std::move(option));
  }
  program.groups->groups.push_back(std::move(group));

  auto values = [&](unsigned threads, bool optimize) {
    EvalOptions options;
    options.threads = threads;
    options.optimize = optimize;
    EvalResult result = evaluate(program, table, options);
    REQUIRE(result.groups.size() >= 1);
    std::map<std::string, double> out;
    for (const auto& option : result.groups[0].options)
      if (const auto* number = std::get_if<double>(&option.value.value)) out[option.key] = *number;
    return out;
  };
  std::map<std::string, double> one = values(1, true);
  CHECK(values(2, true) == one);
  CHECK(values(3, true) == one);
  CHECK(values(2, false) == one);

  // RE2 on its own: the first name regex binds `i` wherever it matches (the others never bind it).
  RE2 blocks(R"(^blocks\.(?P<i>\d+)\.(?P<kind>attn|mlp)?)");
  std::set<double> layers;
  std::size_t parameters = 0;
  for (const auto& record : table.tensors) {
    if (record.tied_to || record.kind == TensorKind::buffer) continue;
    int layer = 0;
    if (RE2::PartialMatch(re2::StringPiece(record.name.data(), record.name.size()), blocks, &layer)) layers.insert(layer);
    ++parameters;
  }
  REQUIRE(layers.size() > 100);
  CHECK(one.at("max_i") == *layers.rbegin());
  CHECK(one.at("min_i") == *layers.begin());
  CHECK(one.at("distinct_i") == static_cast<double>(layers.size()));
  CHECK(one.at("tensors") == static_cast<double>(parameters));  // /(?P<tail>[a-z]*)$/ matches every name
  CHECK(one.count("max_depth") == 1);
  CHECK(one.at("distinct_u") == static_cast<double>(parameters));
}
