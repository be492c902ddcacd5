// The language as people write it, through the public API: option values computed as Python
// computes the same expression (expected values are Python's), tests as they read.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "taxon/format.hpp"
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

// The tensors the first `select` of a rule file picks from `model`.
std::vector<std::string> selected_by(const std::string& rules_text, const taxon::Model& model) {
  taxon::Rules rules = taxon::Rules::parse(rules_text);
  REQUIRE_MESSAGE(rules.ok(), (rules.findings().empty() ? "" : rules.findings().front().rendered));
  return taxon::evaluate(rules, model).selections.at(0).tensors;
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
  auto selected = [&](const std::string& test) { return selected_by("select s : " + test + "\n", model); };
  CHECK(selected("kind in {buffer}") == std::vector<std::string>{"bn.running_mean"});
  CHECK(selected("kind in {parameter}") == std::vector<std::string>{"bn.weight"});
  CHECK(selected("kind in {parameter, buffer}") == std::vector<std::string>{"bn.weight", "bn.running_mean"});
  CHECK(selected("kind == buffer") == std::vector<std::string>{"bn.running_mean"});
  CHECK_FALSE(taxon::Rules::parse("select s : kind in {buffers}\n").ok());
}

// Options compose (`set`), values (`let`, `param`, functions, aggregates), frozen parameters, the
// first-match overlap warning, and `taxon fmt` on all of these. Every expected value is worked
// out by hand (Python's arithmetic in the comment), never read back from taxon.
namespace {

using Names = std::vector<std::string>;

taxon::Rules parsed(const std::string& text, const taxon::RuleParameters& parameters = {},
                    const std::string& name = "<text>.tx") {
  taxon::Rules rules = taxon::Rules::parse(text, name, parameters);
  REQUIRE_MESSAGE(rules.ok(), (rules.findings().empty() ? "" : rules.findings().front().rendered));
  return rules;
}

Names group_names(const taxon::Report& report) {
  Names out;
  for (const auto& group : report.groups) out.push_back(group.name);
  return out;
}

const taxon::GroupReport& group_named(const taxon::Report& report, const std::string& name) {
  auto found = std::find_if(report.groups.begin(), report.groups.end(),
                            [&](const taxon::GroupReport& group) { return group.name == name; });
  REQUIRE_MESSAGE(found != report.groups.end(), "no group " << name);
  return *found;
}

const taxon::Setting* setting(const taxon::GroupReport& group, const std::string& key) {
  for (const auto& option : group.options)
    if (option.name == key) return &option;
  return nullptr;
}

// The group's option `key` as a number; NaN where it has none or it is not a number.
double number(const taxon::GroupReport& group, const std::string& key) {
  const taxon::Setting* found = setting(group, key);
  return found && found->number ? *found->number : std::nan("");
}

// Copies: Rules::findings() returns a temporary.
std::vector<taxon::Finding> with_code(const std::vector<taxon::Finding>& findings, const std::string& code) {
  std::vector<taxon::Finding> out;
  for (const auto& finding : findings)
    if (finding.code == code) out.push_back(finding);
  return out;
}

}  // namespace

TEST_CASE("set rules: options refine a parameter in file order without claiming it") {
  // The two axes timm's recipes vary (decay or not, the learning rate of a part) as two set rules:
  // membership stays with `group`, and each group splits by the options its parameters end with.
  taxon::Rules rules = parsed(R"tx(defaults { weight_decay = 0.05 }
set no_decay : rank == 1 { weight_decay = 0 }
set slow : name starts "enc.0." { lr = 0.01 }
group enc : name starts "enc." { lr = 0.1 }
group rest { lr = 0.2 }
)tx");
  taxon::Model model({{.name = "enc.0.weight", .shape = {4, 4}},
                      {.name = "enc.0.bias", .shape = {4}},
                      {.name = "enc.1.weight", .shape = {4, 4}},
                      {.name = "enc.1.bias", .shape = {4}},
                      {.name = "head.weight", .shape = {2, 4}},
                      {.name = "head.bias", .shape = {2}}});
  taxon::Report report = taxon::evaluate(rules, model);
  // Parts in the order of their first tensor; labels in the set rules' file order (no_decay, slow).
  CHECK(group_names(report) == Names{"enc/slow", "enc/no_decay/slow", "enc", "enc/no_decay", "rest", "rest/no_decay"});
  CHECK(report.overlaps.empty());  // a set rule claims nothing, so it overlaps nothing
  CHECK_FALSE(report.has_errors());

  const auto& slow = group_named(report, "enc/slow");
  CHECK(slow.tensors == Names{"enc.0.weight"});
  CHECK(number(slow, "lr") == 0.01);            // slow's over the group's 0.1
  CHECK(number(slow, "weight_decay") == 0.05);  // defaults
  CHECK(slow.rule == "enc");
  CHECK(slow.set_by == Names{"slow"});
  CHECK_FALSE(slow.is_default);

  const auto& both = group_named(report, "enc/no_decay/slow");
  CHECK(both.tensors == Names{"enc.0.bias"});
  CHECK(number(both, "lr") == 0.01);
  CHECK(number(both, "weight_decay") == 0.0);  // no_decay's over defaults' 0.05
  CHECK(both.set_by == Names{"no_decay", "slow"});

  const auto& plain = group_named(report, "enc");
  CHECK(plain.tensors == Names{"enc.1.weight"});
  CHECK(number(plain, "lr") == 0.1);
  CHECK(number(plain, "weight_decay") == 0.05);
  CHECK(plain.set_by.empty());
  CHECK(plain.rule == "enc");

  const auto& decayless = group_named(report, "enc/no_decay");
  CHECK(decayless.tensors == Names{"enc.1.bias"});
  CHECK(number(decayless, "lr") == 0.1);
  CHECK(number(decayless, "weight_decay") == 0.0);

  // The declared default group keeps what no group matched; set rules split it as any other.
  const auto& rest = group_named(report, "rest");
  CHECK(rest.tensors == Names{"head.weight"});
  CHECK(rest.is_default);
  CHECK(number(rest, "lr") == 0.2);
  CHECK(number(rest, "weight_decay") == 0.05);
  const auto& rest_no_decay = group_named(report, "rest/no_decay");
  CHECK(rest_no_decay.tensors == Names{"head.bias"});
  CHECK(rest_no_decay.is_default);
  CHECK(rest_no_decay.rule == "rest");
  CHECK(rest_no_decay.set_by == Names{"no_decay"});
  CHECK(number(rest_no_decay, "lr") == 0.2);
  CHECK(number(rest_no_decay, "weight_decay") == 0.0);
}

TEST_CASE("set rules: the later one wins - and reordering them can leave one group") {
  // Precedence is file order among set rules, set rules over the group, the group over defaults.
  // Reordering two set rules can make every parameter end with the same options: then one group.
  taxon::Model model({{.name = "w", .shape = {2, 2}}, {.name = "b", .shape = {2}}});
  const std::string head = "defaults { lr = 9, momentum = 0.9 }\ngroup g : true { lr = 0.5 }\n";

  taxon::Report report = taxon::evaluate(parsed(head + "set all : true { lr = 1 }\nset vec : rank == 1 { lr = 2 }\n"), model);
  REQUIRE(report.groups.size() >= 2);
  CHECK(report.groups[0].name == "g/all");
  CHECK(report.groups[0].tensors == Names{"w"});
  CHECK(number(report.groups[0], "lr") == 1.0);        // all's over the group's 0.5 (and defaults' 9)
  CHECK(number(report.groups[0], "momentum") == 0.9);  // defaults, which nothing else sets
  CHECK(report.groups[1].name == "g/all/vec");
  CHECK(report.groups[1].tensors == Names{"b"});
  CHECK(number(report.groups[1], "lr") == 2.0);  // vec comes after all
  CHECK(report.groups[1].set_by == Names{"all", "vec"});

  // vec first: b takes 2 from vec, then 1 from all; w takes 1 from all: both end with lr = 1.
  taxon::Report swapped = taxon::evaluate(parsed(head + "set vec : rank == 1 { lr = 2 }\nset all : true { lr = 1 }\n"), model);
  REQUIRE_FALSE(swapped.groups.empty());
  CHECK(swapped.groups[0].name == "g/all");  // named after its first tensor's labels (w: all)
  CHECK(swapped.groups[0].tensors == Names{"w", "b"});
  CHECK(swapped.groups[0].set_by == Names{"all"});
  CHECK(number(swapped.groups[0], "lr") == 1.0);
  for (const auto& group : swapped.groups) CHECK(group.name != "g/vec/all");

  // Without set rules the group's own lr beats defaults' 9.
  taxon::Report plain = taxon::evaluate(parsed(head), model);
  CHECK(number(group_named(plain, "g"), "lr") == 0.5);
  CHECK(group_named(plain, "g").tensors == Names{"w", "b"});
}

TEST_CASE("set rules: parts of an undeclared default group are named by their labels alone") {
  // With no default group written, DEFAULT/no_decay would name a group the file never declares:
  // the labels alone name the part. A declared default keeps its name in front.
  taxon::Model model({{.name = "w", .shape = {2, 2}}, {.name = "b", .shape = {2}}});
  const std::string rules = "defaults { weight_decay = 0.05 }\nset no_decay : rank == 1 { weight_decay = 0 }\n";

  taxon::Report implicit = taxon::evaluate(parsed(rules), model);
  CHECK(group_names(implicit) == Names{"DEFAULT", "no_decay"});
  CHECK(group_named(implicit, "DEFAULT").tensors == Names{"w"});
  CHECK(number(group_named(implicit, "DEFAULT"), "weight_decay") == 0.05);
  const auto& no_decay = group_named(implicit, "no_decay");
  CHECK(no_decay.tensors == Names{"b"});
  CHECK(no_decay.is_default);
  CHECK(no_decay.rule == "DEFAULT");
  CHECK(no_decay.set_by == Names{"no_decay"});
  CHECK(number(no_decay, "weight_decay") == 0.0);

  taxon::Report declared = taxon::evaluate(parsed(rules + "group rest { }\n"), model);
  CHECK(group_names(declared) == Names{"rest", "rest/no_decay"});
  CHECK(group_named(declared, "rest/no_decay").tensors == Names{"b"});

  // Declared groups, the default implicit: `enc` splits, `other` (no set rule touches it) keeps
  // its plain name, and what falls through splits into DEFAULT and no_decay.
  taxon::Model wider({{.name = "enc.weight", .shape = {2, 2}},
                      {.name = "enc.bias", .shape = {2}},
                      {.name = "other.weight", .shape = {2, 2}},
                      {.name = "head.weight", .shape = {2, 2}},
                      {.name = "head.bias", .shape = {2}}});
  taxon::Report mixed = taxon::evaluate(
      parsed("group enc : name starts \"enc.\" { lr = 0.1 }\ngroup other : name starts \"other.\" { }\n"
             "set no_decay : name ends \".bias\" { weight_decay = 0 }\n"),
      wider);
  CHECK(group_names(mixed) == Names{"enc", "enc/no_decay", "other", "DEFAULT", "no_decay"});
  CHECK(group_named(mixed, "enc").tensors == Names{"enc.weight"});
  CHECK(group_named(mixed, "enc/no_decay").tensors == Names{"enc.bias"});
  CHECK(number(group_named(mixed, "enc/no_decay"), "lr") == 0.1);  // the group's options stay
  CHECK(group_named(mixed, "other").tensors == Names{"other.weight"});
  CHECK(group_named(mixed, "other").set_by.empty());
  CHECK(group_named(mixed, "DEFAULT").tensors == Names{"head.weight"});
  CHECK(group_named(mixed, "no_decay").tensors == Names{"head.bias"});
}

TEST_CASE("set rules: a capture an option uses labels the part - and equal values merge") {
  // timm names its layer-decay groups layer_N_decay: a set rule's label carries the text of each
  // capture its computed options use (not the ones they ignore), so parts differ by layer.
  taxon::Model model({{.name = "blocks.0.weight", .shape = {2, 2}},
                      {.name = "blocks.0.bias", .shape = {2}},
                      {.name = "blocks.1.weight", .shape = {2, 2}},
                      {.name = "blocks.2.weight", .shape = {2, 2}},
                      {.name = "head.weight", .shape = {2, 2}}});
  taxon::Report report = taxon::evaluate(
      parsed(R"tx(group rest { }
set layer : name ~ /^blocks\.(?P<i>\d+)\.(?P<part>[a-z]+)/ { lr_scale = 0.5 ** (2 - i) }
)tx"),
      model);
  CHECK(group_names(report) == Names{"rest/layer_0", "rest/layer_1", "rest/layer_2", "rest"});
  const auto& layer0 = group_named(report, "rest/layer_0");
  CHECK(layer0.tensors == Names{"blocks.0.weight", "blocks.0.bias"});
  CHECK(number(layer0, "lr_scale") == 0.25);  // 0.5 ** (2 - 0)
  CHECK(layer0.set_by == Names{"layer_0"});
  CHECK(layer0.rule == "rest");
  CHECK(number(group_named(report, "rest/layer_1"), "lr_scale") == 0.5);  // 0.5 ** 1
  CHECK(number(group_named(report, "rest/layer_2"), "lr_scale") == 1.0);  // 0.5 ** 0
  CHECK(group_named(report, "rest").tensors == Names{"head.weight"});
  CHECK(setting(group_named(report, "rest"), "lr_scale") == nullptr);

  // max(0.5, 0.5 ** (3 - i)): i = 0, 1, 2 give max(0.5, 0.125), max(0.5, 0.25), max(0.5, 0.5), all
  // 0.5, so blocks 0-2 are one part (named after blocks.0's label); i = 3 gives 1.0.
  taxon::Model deeper({{.name = "blocks.0.weight", .shape = {2, 2}},
                       {.name = "blocks.1.weight", .shape = {2, 2}},
                       {.name = "blocks.2.weight", .shape = {2, 2}},
                       {.name = "blocks.3.weight", .shape = {2, 2}},
                       {.name = "blocks.3.bias", .shape = {2}}});
  taxon::Report merged = taxon::evaluate(
      parsed(R"tx(group rest { }
set layer : name ~ /^blocks\.(?P<i>\d+)\./ { lr_scale = max(0.5, 0.5 ** (3 - i)) }
)tx"),
      deeper);
  CHECK(group_names(merged) == Names{"rest/layer_0", "rest/layer_3"});
  CHECK(group_named(merged, "rest/layer_0").tensors == Names{"blocks.0.weight", "blocks.1.weight", "blocks.2.weight"});
  CHECK(number(group_named(merged, "rest/layer_0"), "lr_scale") == 0.5);
  CHECK(group_named(merged, "rest/layer_3").tensors == Names{"blocks.3.weight", "blocks.3.bias"});
  CHECK(number(group_named(merged, "rest/layer_3"), "lr_scale") == 1.0);
}

TEST_CASE("values: let names lists and arithmetic over earlier values") {
  // A recipe's constants written once: `let` values stand wherever an option value does.
  taxon::Report report = taxon::evaluate(parsed(R"tx(param decay = 0.75
let betas = [0.9, 0.999]
let twice = decay * 2
let half = -decay / -1.5
let six = min(2, 3) * 3
group g : true { lr_scale = decay, betas = betas, lr = twice, lr_mult = six, momentum = half }
)tx"),
                                         taxon::Model({{.name = "w", .shape = {2}}}));
  const auto& g = group_named(report, "g");
  CHECK(number(g, "lr_scale") == 0.75);
  CHECK(number(g, "lr") == 1.5);        // 0.75 * 2
  CHECK(number(g, "momentum") == 0.5);  // -0.75 / -1.5
  const taxon::Setting* six = setting(g, "lr_mult");
  REQUIRE(six != nullptr);
  CHECK(six->number == 6.0);  // min(2, 3) * 3
  CHECK(six->value == "6");   // integers written, integer arithmetic: an int, as in Python
  const taxon::Setting* betas = setting(g, "betas");
  REQUIRE(betas != nullptr);
  CHECK_FALSE(betas->number.has_value());
  CHECK(betas->value == "[0.9,0.999]");  // json.dumps([0.9, 0.999], separators=(',', ':'))
}

// A value that starts with a number: the lookahead that tells a value from a predicate once left
// a node before the value, and the number was read as a predicate's name.
TEST_CASE("values: let binds a value that starts with a number") {
  // docs/language.md's own example: `let decay = 0.75`.
  taxon::Model model({{.name = "w", .shape = {2}}});
  auto value_of = [&](const std::string& value) {
    taxon::Rules rules = taxon::Rules::parse("let v = " + value + "\ngroup g : true { lr = v }\n");
    CHECK_MESSAGE(rules.ok(), (rules.findings().empty() ? "" : rules.findings().front().rendered));
    if (!rules.ok()) return std::nan("");
    return number(group_named(taxon::evaluate(rules, model), "g"), "lr");
  };
  CHECK(value_of("0.75") == 0.75);
  CHECK(value_of("2 * 3") == 6.0);    // 2 * 3
  CHECK(value_of("(0.75)") == 0.75);
  CHECK(value_of("1e-3") == 0.001);   // float('1e-3')
  CHECK(value_of("12 - 2 ** 2") == 8.0);  // 12 - 4
}

TEST_CASE("let: a predicate may start with not or a field and a parenthesis - it is no call") {
  taxon::Model model({{.name = "a.bias", .shape = {2}}, {.name = "a.weight", .shape = {2, 2}}});
  auto selected = [&](const std::string& predicate) { return selected_by("let p = " + predicate + "\nselect s : p\n", model); };
  CHECK(selected("not (name ends \".bias\")") == std::vector<std::string>{"a.weight"});
  CHECK(selected("not(rank == 1)") == std::vector<std::string>{"a.weight"});
  CHECK(selected("(not (rank == 2) or false)") == std::vector<std::string>{"a.bias"});
}

TEST_CASE("values: param takes the caller's value - and an undeclared one is T0117") {
  // One file for every decay: `param` is a default the caller (--param, Rules::parse's
  // parameters, `import ... with`) replaces; a misspelt name must not pass silently.
  const std::string text = "param decay = 0.75\ngroup g : true { lr_scale = decay ** 2 }\n";
  taxon::Model model({{.name = "w", .shape = {2}}});
  CHECK(number(group_named(taxon::evaluate(parsed(text), model), "g"), "lr_scale") == 0.5625);  // 0.75 ** 2
  CHECK(number(group_named(taxon::evaluate(parsed(text, {{"decay", "0.5"}}), model), "g"), "lr_scale") == 0.25);  // 0.5 ** 2

  taxon::Rules misspelt = taxon::Rules::parse(text, "<text>.tx", {{"decya", "0.5"}});
  CHECK_FALSE(misspelt.ok());
  auto unknown = with_code(misspelt.findings(), "T0117");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].level == taxon::Level::error);
  CHECK(unknown[0].message.find("decya") != std::string::npos);
  CHECK(unknown[0].hint.find("decay") != std::string::npos);  // what it does declare

  // `import ... with { }`: scaled_decay.tx declares `param decay = 0.75` and sets lr_scale = decay
  // on blocks.*; it is found next to the importing file.
  const std::string importer = TAXON_SOURCE_DIR "/tests/data/rules/tx/compose/imports_scaled_decay.tx";
  taxon::Model blocks({{.name = "blocks.0.weight", .shape = {2, 2}}, {.name = "head.weight", .shape = {2, 2}}});
  taxon::Report given = taxon::evaluate(
      parsed("import \"scaled_decay.tx\" with { decay = 0.5 }\ngroup all { }\n", {}, importer), blocks);
  CHECK(group_names(given) == Names{"all/decayed", "all"});
  CHECK(group_named(given, "all/decayed").tensors == Names{"blocks.0.weight"});
  CHECK(number(group_named(given, "all/decayed"), "lr_scale") == 0.5);
  CHECK(group_named(given, "all").tensors == Names{"head.weight"});
  taxon::Report defaulted = taxon::evaluate(parsed("import \"scaled_decay.tx\"\ngroup all { }\n", {}, importer), blocks);
  CHECK(number(group_named(defaulted, "all/decayed"), "lr_scale") == 0.75);
  taxon::Rules wrong = taxon::Rules::parse("import \"scaled_decay.tx\" with { decya = 0.5 }\ngroup all { }\n", importer);
  CHECK_FALSE(wrong.ok());
  CHECK(with_code(wrong.findings(), "T0117").size() == 1);
}

TEST_CASE("values: min max and clamp compute as Python computes them") {
  // Layer decay floors and caps; each expected value is Python's on the same arguments.
  auto values = values_of("a = min(3, 1.5), b = max(2, 7), c = clamp(5, 0, 1), d = clamp(-1, 0, 1), "
                          "e = clamp(0.25, 0, 1), f = min(4, 2, 3), g = max(0.5 ** 3, 0.1)");
  CHECK(values.at("a") == 1.5);    // min(3, 1.5)
  CHECK(values.at("b") == 7.0);    // max(2, 7)
  CHECK(values.at("c") == 1.0);    // min(max(5, 0), 1)
  CHECK(values.at("d") == 0.0);    // min(max(-1, 0), 1)
  CHECK(values.at("e") == 0.25);   // min(max(0.25, 0), 1)
  CHECK(values.at("f") == 2.0);    // min(4, 2, 3)
  CHECK(values.at("g") == 0.125);  // max(0.125, 0.1)

  CHECK_FALSE(taxon::Rules::parse("group g : true { lr = clamp(1, 2) }\n").ok());  // clamp takes three
  taxon::Rules unknown = taxon::Rules::parse("group g : true { lr = mean(1, 2) }\n");
  CHECK_FALSE(unknown.ok());
  CHECK(with_code(unknown.findings(), "T0111").size() == 1);
}

TEST_CASE("values: aggregates read the model - max min and count of a capture and count of parameters") {
  // One rule file for every depth: the depth comes from the model. blocks 0, 1 and 3 (no 2), so
  // max + 1 (4) and the number of distinct blocks (3) differ. Computed values are floats.
  taxon::Model model({{.name = "blocks.0.weight", .shape = {2, 2}},
                      {.name = "blocks.0.bias", .shape = {2}},
                      {.name = "blocks.1.weight", .shape = {2, 2}},
                      {.name = "blocks.1.bias", .shape = {2}},
                      {.name = "blocks.3.weight", .shape = {2, 2}},
                      {.name = "head.weight", .shape = {2, 2}},
                      {.name = "head.bias", .shape = {2}}});
  taxon::Report report = taxon::evaluate(parsed(R"tx(let block = name ~ /^blocks\.(?P<i>\d+)\./
let depth = max(i where block) + 1
group g : true {
  lr_mult = depth,
  lr_scale = min(i where block),
  momentum = count(i where block),
  dampening = count(rank == 1),
  decay_mult = count(block)
}
)tx"),
                                         model);
  CHECK_FALSE(report.has_errors());
  const auto& g = group_named(report, "g");
  CHECK(number(g, "lr_mult") == 4.0);     // max(0, 1, 3) + 1
  CHECK(number(g, "lr_scale") == 0.0);    // min(0, 1, 3)
  CHECK(number(g, "momentum") == 3.0);    // len({0, 1, 3})
  CHECK(number(g, "dampening") == 3.0);   // blocks.0.bias, blocks.1.bias, head.bias
  CHECK(number(g, "decay_mult") == 5.0);  // the five blocks.* parameters
  const taxon::Setting* depth = setting(g, "lr_mult");
  REQUIRE(depth != nullptr);
  CHECK(depth->value == "4.0");  // a float: repr(3.0 + 1) is '4.0'
}

TEST_CASE("values: an aggregate over no parameter is T0408 and a value is no predicate (T0111)") {
  // A depth read from a model that has no such blocks cannot be known: an error, not NaN options.
  taxon::Model model({{.name = "blocks.0.weight", .shape = {2, 2}}});
  taxon::Rules rules = parsed(R"tx(let depth = max(i where name ~ /^layers\.(?P<i>\d+)\./) + 1
group g : true { lr_mult = depth }
)tx");
  taxon::Report report = taxon::evaluate(rules, model);
  CHECK(report.has_errors());
  auto empty = with_code(report.findings, "T0408");
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].level == taxon::Level::error);

  // The same aggregate on a model that has the blocks: no finding.
  taxon::Report fine = taxon::evaluate(rules, taxon::Model({{.name = "layers.2.weight", .shape = {2, 2}}}));
  CHECK_FALSE(fine.has_errors());
  CHECK(number(group_named(fine, "g"), "lr_mult") == 3.0);  // 2 + 1

  taxon::Rules misused = taxon::Rules::parse("param decay = 0.75\nselect s : decay\n");
  CHECK_FALSE(misused.ok());
  auto not_predicate = with_code(misused.findings(), "T0111");
  REQUIRE(not_predicate.size() == 1);
  CHECK(not_predicate[0].line == 2);
  taxon::Rules list_misused = taxon::Rules::parse("let betas = [0.9, 0.999]\ngroup g : rank == 1 and betas { }\n");
  CHECK_FALSE(list_misused.ok());
  CHECK(with_code(list_misused.findings(), "T0111").size() == 1);
}

TEST_CASE("frozen parameters: left out of every group and listed where the filter matched them") {
  // An optimizer given a parameter that never trains wastes its state: groups leave them out
  // (requires_grad false, or a freeze rule) and say which they left out.
  taxon::Model model({{.name = "emb.weight", .shape = {4, 4}, .requires_grad = false},
                      {.name = "enc.0.weight", .shape = {4, 4}, .requires_grad = false},
                      {.name = "enc.0.bias", .shape = {4}},
                      {.name = "enc.1.weight", .shape = {4, 4}},
                      {.name = "head.weight", .shape = {2, 4}},
                      {.name = "head.bias", .shape = {2}}});
  const std::string groups = "freeze : name starts \"head.\"\ngroup enc : name starts \"enc.\" { lr = 0.1 }\n"
                             "group head : name starts \"head.\" { lr = 1 }\ngroup rest { }\n";
  taxon::Report report = taxon::evaluate(parsed(groups), model);
  CHECK(group_named(report, "enc").tensors == Names{"enc.0.bias", "enc.1.weight"});
  CHECK(group_named(report, "enc").frozen == Names{"enc.0.weight"});
  CHECK(group_named(report, "head").tensors.empty());
  CHECK(group_named(report, "head").frozen == Names{"head.weight", "head.bias"});
  CHECK(group_named(report, "rest").tensors.empty());  // the default group never takes a frozen one
  CHECK(group_named(report, "rest").frozen == Names{"emb.weight"});  // frozen, matched by no group
  REQUIRE(report.selections.size() == 1);
  CHECK(report.selections[0].freezes);
  CHECK(report.selections[0].tensors == Names{"head.weight", "head.bias"});

  // With set rules, a left-out parameter is listed with the part its options would have put it in.
  taxon::Report split = taxon::evaluate(parsed(groups + "set no_decay : rank == 1 { weight_decay = 0 }\n"), model);
  CHECK(group_named(split, "enc/no_decay").tensors == Names{"enc.0.bias"});
  CHECK(group_named(split, "enc/no_decay").frozen.empty());
  CHECK(group_named(split, "enc").tensors == Names{"enc.1.weight"});
  CHECK(group_named(split, "enc").frozen == Names{"enc.0.weight"});  // rank 2: no_decay would not touch it
}

TEST_CASE("frozen parameters: keep frozen in groups keeps them where a filter matches - never in the default") {
  // linnaeus keeps frozen parameters in its groups (only its DEFAULT skips them); converted
  // configs say so with `keep frozen in groups`.
  taxon::Model model({{.name = "emb.weight", .shape = {4, 4}, .requires_grad = false},
                      {.name = "enc.0.weight", .shape = {4, 4}, .requires_grad = false},
                      {.name = "enc.0.bias", .shape = {4}},
                      {.name = "head.weight", .shape = {2, 4}}});
  taxon::Report report = taxon::evaluate(parsed("keep frozen in groups\nfreeze : name starts \"head.\"\n"
                                                "group enc : name starts \"enc.\" { lr = 0.1 }\n"
                                                "group head : name starts \"head.\" { lr = 1 }\ngroup rest { }\n"),
                                         model);
  CHECK(group_named(report, "enc").tensors == Names{"enc.0.weight", "enc.0.bias"});
  CHECK(group_named(report, "enc").frozen.empty());
  CHECK(group_named(report, "head").tensors == Names{"head.weight"});  // frozen by the rule, kept
  CHECK(group_named(report, "rest").tensors.empty());
  CHECK(group_named(report, "rest").frozen == Names{"emb.weight"});
}

TEST_CASE("T0501 in first-match mode: only where a later group loses something it names specifically") {
  // `head` then `no_decay` then `rest` is how first-match files are written: the later, general
  // group losing head.bias to the specific one is the point, not a mistake.
  taxon::Model model({{.name = "head.weight", .shape = {2, 4}},
                      {.name = "head.bias", .shape = {2}},
                      {.name = "enc.weight", .shape = {4, 4}},
                      {.name = "enc.bias", .shape = {4}},
                      {.name = "norm.weight", .shape = {4}}});
  auto overlap_warnings = [&](const std::string& text) { return with_code(taxon::evaluate(parsed(text), model).findings, "T0501"); };

  // Specific then general: head (2 parameters) takes head.bias from no_decay (3): no warning,
  // though the overlap is still recorded.
  const std::string specific_first = "group head : name starts \"head.\" { lr = 1 }\n"
                                     "group no_decay : rank == 1 { weight_decay = 0 }\ngroup rest { }\n";
  taxon::Report layered = taxon::evaluate(parsed(specific_first), model);
  CHECK(with_code(layered.findings, "T0501").empty());
  REQUIRE(layered.overlaps.size() == 1);
  CHECK(layered.overlaps[0].tensor == "head.bias");
  CHECK(layered.overlaps[0].groups == Names{"head", "no_decay"});
  CHECK(layered.overlaps[0].assigned == Names{"head"});
  CHECK(group_named(layered, "no_decay").tensors == Names{"enc.bias", "norm.weight"});

  // General then specific: head matches 2 < no_decay's 3 and loses head.bias: reported, at head.
  auto general_first = overlap_warnings("group no_decay : rank == 1 { weight_decay = 0 }\n"
                                        "group head : name starts \"head.\" { lr = 1 }\ngroup rest { }\n");
  REQUIRE(general_first.size() == 1);
  CHECK(general_first[0].level == taxon::Level::warning);
  CHECK(general_first[0].line == 2);

  // Not narrower (3 against head's 2), but it names a tensor it loses by its exact name.
  auto by_name = overlap_warnings("group head : name starts \"head.\" { lr = 1 }\n"
                                  "group picked : name == \"head.bias\" or rank == 2 { lr = 2 }\ngroup rest { }\n");
  REQUIRE(by_name.size() == 1);
  CHECK(by_name[0].line == 2);
  // The same breadth (4 against 2) by a suffix: nothing specific lost, no warning.
  CHECK(overlap_warnings("group head : name starts \"head.\" { lr = 1 }\n"
                         "group picked : name ends \".bias\" or rank == 2 { lr = 2 }\ngroup rest { }\n")
            .empty());
}

TEST_CASE("T0501 in overlap mode: every overlap - and set rules apply in each group") {
  // In overlap mode an optimizer sees a tensor in two groups twice: always worth the warning.
  taxon::Model model({{.name = "head.weight", .shape = {2, 4}},
                      {.name = "head.bias", .shape = {2}},
                      {.name = "enc.bias", .shape = {4}}});
  const std::string text = "mode overlap\ngroup head : name starts \"head.\" { lr = 1 }\n"
                           "group no_decay : rank == 1 { weight_decay = 0 }\ngroup rest { }\n";
  taxon::Report report = taxon::evaluate(parsed(text), model);
  auto warnings = with_code(report.findings, "T0501");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].line == 3);  // at the last group involved
  CHECK(group_named(report, "head").tensors == Names{"head.weight", "head.bias"});
  CHECK(group_named(report, "no_decay").tensors == Names{"head.bias", "enc.bias"});

  taxon::Report split = taxon::evaluate(parsed(text + "set slow : name == \"head.bias\" { lr = 0.5 }\n"), model);
  CHECK(group_names(split) == Names{"head", "head/slow", "no_decay/slow", "no_decay", "rest"});
  CHECK(group_named(split, "head/slow").tensors == Names{"head.bias"});
  CHECK(number(group_named(split, "head/slow"), "lr") == 0.5);
  CHECK(group_named(split, "no_decay/slow").tensors == Names{"head.bias"});
  CHECK(number(group_named(split, "no_decay/slow"), "lr") == 0.5);
  CHECK(number(group_named(split, "no_decay/slow"), "weight_decay") == 0.0);
  CHECK(group_named(split, "no_decay").tensors == Names{"enc.bias"});
}

TEST_CASE("fmt: set param let values keep frozen import with and calls print so that they parse again") {
  // `taxon fmt` rewrites files in place: what it prints must read back as the same rules, and
  // formatting its own output must change nothing.
  const std::string name = TAXON_SOURCE_DIR "/tests/data/rules/tx/compose/fmt_compose.tx";
  const std::string text = R"tx(# composed rules, badly spaced
import   "scaled_decay.tx"   with {decay=0.5}
param  bias=1
param rate=0.75
let betas = [0.9,0.999]
let depth = max(i where name~/^blocks\.(?P<i>\d+)\./)+bias
let blocks = count(i where name ~ /^blocks\.(?P<i>\d+)\./)
let vectors = count(rank==1)
keep   frozen in groups
defaults {weight_decay=0.05, betas=betas}
set layer : name ~ /^blocks\.(?P<i>\d+)\./ {lr_scale=clamp(rate**(depth-i), 0.1, 1.0), lr_mult = min(blocks, 2)}
set no_decay:rank==1{weight_decay=0, momentum = max(vectors, 0.5)}
set embeddings : name starts {"blocks.0.embeddings.patch_projection.", "blocks.0.embeddings.position_table"} { lr_scale = rate ** (depth + 1), dampening = 0.0 }
group all { }
)tx";
  taxon::Formatted formatted = taxon::format_rules(text, name);
  REQUIRE_MESSAGE(formatted.ok, (formatted.findings.empty() ? "" : formatted.findings.front().rendered));
  CHECK(formatted.changed);
  const std::string& out = formatted.text;
  // Canonical spacing, as `group g : rank == 1 { lr = 0.1 }` is for a group.
  CHECK(out.find("import \"scaled_decay.tx\" with { decay = 0.5 }\n") != std::string::npos);
  CHECK(out.find("param bias = 1\n") != std::string::npos);
  CHECK(out.find("param rate = 0.75\n") != std::string::npos);
  CHECK(out.find("let betas = [0.9, 0.999]\n") != std::string::npos);
  CHECK(out.find("let depth = max(i where name ~ /^blocks\\.(?P<i>\\d+)\\./) + bias\n") != std::string::npos);
  CHECK(out.find("let vectors = count(rank == 1)\n") != std::string::npos);
  CHECK(out.find("keep frozen in groups\n") != std::string::npos);
  CHECK(out.find("set no_decay : rank == 1 { weight_decay = 0, momentum = max(vectors, 0.5) }\n") != std::string::npos);

  taxon::Formatted again = taxon::format_rules(out, name);
  REQUIRE(again.ok);
  CHECK_FALSE(again.changed);
  CHECK(again.text == out);

  // Read back, it means what the original means.
  taxon::Rules original = parsed(text, {}, name);
  taxon::Rules reread = parsed(out, {}, name);
  taxon::Model model({{.name = "blocks.0.embeddings.position_table", .shape = {4, 4}},
                      {.name = "blocks.0.weight", .shape = {4, 4}},
                      {.name = "blocks.0.bias", .shape = {4}},
                      {.name = "blocks.1.weight", .shape = {4, 4}, .requires_grad = false},
                      {.name = "head.weight", .shape = {2, 4}}});
  taxon::Report before = taxon::evaluate(original, model);
  taxon::Report after = taxon::evaluate(reread, model);
  CHECK_FALSE(before.has_errors());
  REQUIRE(group_names(after) == group_names(before));
  for (std::size_t g = 0; g < before.groups.size(); ++g) {
    CHECK(after.groups[g].tensors == before.groups[g].tensors);
    CHECK(after.groups[g].set_by == before.groups[g].set_by);
    REQUIRE(after.groups[g].options.size() == before.groups[g].options.size());
    for (std::size_t o = 0; o < before.groups[g].options.size(); ++o) {
      CHECK(after.groups[g].options[o].name == before.groups[g].options[o].name);
      CHECK(after.groups[g].options[o].value == before.groups[g].options[o].value);
    }
  }
  // And values of its own, worked out by hand. blocks.1.weight is frozen but a parameter of the
  // model all the same: depth = max(0, 1) + bias = 2, blocks = len({0, 1}) = 2, vectors = 1
  // (blocks.0.bias). Set rules apply in file order: the imported decayed (lr_scale 0.5), then layer,
  // no_decay, embeddings.
  const auto& layer0 = group_named(after, "all/decayed/layer_0");
  CHECK(layer0.tensors == Names{"blocks.0.weight"});
  CHECK(number(layer0, "lr_scale") == 0.5625);  // clamp(0.75 ** (2 - 0), 0.1, 1.0) over decayed's 0.5
  CHECK(number(layer0, "lr_mult") == 2.0);      // min(2, 2)
  const auto& embeddings = group_named(after, "all/decayed/layer_0/embeddings");
  CHECK(embeddings.tensors == Names{"blocks.0.embeddings.position_table"});
  CHECK(number(embeddings, "lr_scale") == 0.421875);  // 0.75 ** (2 + 1)
  CHECK(number(embeddings, "dampening") == 0.0);
  const auto& no_decay = group_named(after, "all/decayed/layer_0/no_decay");
  CHECK(no_decay.tensors == Names{"blocks.0.bias"});
  CHECK(number(no_decay, "weight_decay") == 0.0);
  CHECK(number(no_decay, "momentum") == 1.0);  // max(1, 0.5)
  CHECK(group_named(after, "all").tensors == Names{"head.weight"});
}

// Parts are told apart by the options their parameters end with, whatever rules gave them and in
// whatever order: an optimizer never gets two identical param groups.
TEST_CASE("set rules: parts whose options end equal are one group however they got them") {
  taxon::Model model({{.name = "a.weight", .shape = {2, 2}}, {.name = "a.bias", .shape = {2}}, {.name = "b.weight", .shape = {2, 2}}});

  // lr = 0.1 from the group for every parameter, and from `same` again for a.bias: one group.
  taxon::Report same_as_group =
      taxon::evaluate(parsed("group g : true { lr = 0.1 }\nset same : rank == 1 { lr = 0.1 }\n"), model);
  REQUIRE_FALSE(same_as_group.groups.empty());
  CHECK(same_as_group.groups[0].name == "g");  // a.weight's labels: none
  CHECK(same_as_group.groups[0].tensors == Names{"a.weight", "a.bias", "b.weight"});

  // weight_decay = 0 from defaults, and from no_decay again: one group.
  taxon::Report same_as_defaults = taxon::evaluate(
      parsed("defaults { weight_decay = 0 }\ngroup g : true { }\nset no_decay : rank == 1 { weight_decay = 0 }\n"), model);
  REQUIRE_FALSE(same_as_defaults.groups.empty());
  CHECK(same_as_defaults.groups[0].tensors == Names{"a.weight", "a.bias", "b.weight"});

  // {lr: 1, weight_decay: 0} == {weight_decay: 0, lr: 1}: one group, named after a.weight's label.
  taxon::Report reordered = taxon::evaluate(parsed("group g : true { }\n"
                                                   "set a : name starts \"a.\" { lr = 1, weight_decay = 0 }\n"
                                                   "set b : name starts \"b.\" { weight_decay = 0, lr = 1 }\n"),
                                            model);
  REQUIRE_FALSE(reordered.groups.empty());
  CHECK(reordered.groups[0].name == "g/a");
  CHECK(reordered.groups[0].tensors == Names{"a.weight", "a.bias", "b.weight"});
}
