// Rule files written at random from the language's grammar (every kind of test, sets, regexes with
// captures, `and`/`or`/`not`, lets, aggregates, set rules, modes, frozen parameters, a stripped
// prefix), evaluated on the fuzz targets' sample model with the optimizer and the compiled
// evaluator, and as written: the two must report the same selections, groups, options and
// diagnostics; and what `taxon fmt` prints of each parses again. libFuzzer finds such differences
// by mutating bytes, in CI's short runs only by luck; this walks the grammar on purpose, in every
// test run.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "eval_summary.hpp"  // tests/runtime
#include "fuzz_support.hpp"
#include "grammar/tx_lower.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"

namespace {

using namespace taxon;

class RuleWriter {
 public:
  explicit RuleWriter(uint32_t seed) : random_(seed) {}

  std::string file() {
    std::string out;
    lets_.clear();
    if (one_in(5)) out += "match names without " + quoted(pick({"blocks.", "blocks.1", "embed", "h"})) + "\n";
    if (one_in(4)) out += std::string("mode ") + pick({"overlap", "first_match", "off"}) + "\n";
    if (one_in(4)) out += "keep frozen in groups\n";
    if (one_in(6)) out += "stages { \"0\": {\"embed\", \"blocks.0\"}, \"late\": {\"blocks.1\"} }\n";
    for (int n = below(3); n > 0; --n) {
      std::string name = "p" + std::to_string(lets_.size());
      out += "let " + name + " = " + predicate(2) + "\n";
      lets_.push_back(name);
    }
    bool depth = one_in(2);
    if (depth) out += std::string("let depth = ") + pick({"max", "min", "count"}) + "(i where " + with_capture() + ") + 1\n";
    bool counted = one_in(3);
    if (counted) out += "let n = count(" + predicate(2) + ")\n";
    for (int n = below(3); n > 0; --n) out += "select s" + std::to_string(n) + " : " + predicate(3) + "\n";
    if (one_in(3)) out += "freeze : " + predicate(2) + "\n";
    if (one_in(4)) out += "exclude gradnorm : " + predicate(2) + "\n";
    if (one_in(3)) out += "defaults { weight_decay = 0.05, lr_mult = 1.0 }\n";
    for (int n = below(3); n > 0; --n) {
      std::string captured = with_capture();
      if (one_in(2))
        out += "set layer" + std::to_string(n) + " : " + captured + " { lr_mult = 0.9 ** (" + (depth ? "depth" : "12") + " - i) }\n";
      else
        out += "set flat" + std::to_string(n) + " : " + predicate(2) + " { weight_decay = 0 }\n";
    }
    for (int n = below(4); n > 0; --n) {
      out += "group g" + std::to_string(n) + " : " + predicate(3) + " { lr = 0." + std::to_string(n) + " }\n";
      if (one_in(4)) out += "group i" + std::to_string(n) + " : " + with_capture() + " { lr_mult = 2 ** i }\n";
    }
    if (counted) out += "group counted : " + predicate(2) + " { lr = n / 100 }\n";
    if (one_in(2)) out += "group rest { optimizer = \"adamw\" }\n";
    return out;
  }

 private:
  bool one_in(int n) { return random_() % static_cast<uint32_t>(n) == 0; }
  int below(int n) { return static_cast<int>(random_() % static_cast<uint32_t>(n)); }
  const char* pick(std::initializer_list<const char*> choices) { return choices.begin()[random_() % choices.size()]; }

  static std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  // Text a name or module test compares with: a slice of a real name or module, or a made-up one.
  std::string literal() {
    const auto& table = fuzz::sample_table();
    const auto& record = table.tensors[random_() % table.tensors.size()];
    std::string_view source = one_in(3) ? record.module : record.name;
    if (one_in(4)) return pick({"", ".", "1", "11", ".weight", ".bias", "norm", "blocks.1", "héad", "ünicode", "xyz"});
    std::size_t from = random_() % (source.size() + 1), size = random_() % (source.size() - from + 1);
    if (one_in(3)) from = 0;
    if (one_in(3)) size = source.size() - from;
    // Whole UTF-8 characters: a rule file is UTF-8 text.
    auto inside_a_character = [&](std::size_t at) { return at < source.size() && (source[at] & 0xC0) == 0x80; };
    while (inside_a_character(from)) --from;
    std::size_t to = from + size;
    while (inside_a_character(to)) ++to;
    return std::string(source.substr(from, to - from));
  }

  std::string literal_set() {
    if (one_in(2)) return quoted(literal());
    std::string out = "{";
    for (int n = 1 + below(3); n > 0; --n) out += quoted(literal()) + (n > 1 ? ", " : "");
    return out + "}";
  }

  std::string regex() {
    if (!one_in(4))  // random tokens make an invalid regex about half the time
      return pick({"^blocks\\.(?P<j>\\d+)\\.", "\\.(?P<i>\\d+)\\.", "weight$", "a{0}", "a{0000}", "(?i)HEAD", "é", "bl.cks",
                   "[0-9]+", "^.{3}", "(norm|fc)1", "^$", "x*", "\\.(1|11)\\.", "[^.]+$", "(?P<i>1)?", "^h", "(?s).",
                   "\\d{2,}", "\\w+\\.\\w+$", "ü", "[a-c]{1,2}k"});
    static const char* tokens[] = {"a", "b", ".", "\\.", "\\d", "+", "*", "?", "^", "$", "|", "(", ")", "[0-9]",
                                   "blocks", "weight", "{2}", "{0,1}", "{01}", "norm", "1", "(?:", "é", "\\w"};
    std::string out;
    for (int n = 1 + below(5); n > 0; --n) out += tokens[random_() % std::size(tokens)];
    return out;
  }

  // A predicate whose regex binds the capture `i`, as set rules and aggregates read it.
  std::string with_capture() {
    std::string base = pick({"name ~ /^blocks\\.(?P<i>\\d+)\\./", "name ~ /\\.(?P<i>\\d+)\\.(norm|mlp)/",
                             "module ~ /blocks\\.(?P<i>1+)/", "name ~ /(?P<i>\\d)$|blocks\\.(?P<i2>\\d+)/"});
    if (one_in(2)) return base;
    return "(" + base + ") " + pick({"and ", "or "}) + predicate(1);
  }

  std::string test() {
    switch (below(16)) {
      case 0: case 1: return std::string(pick({"name", "module"})) + " " + pick({"==", "!=", "starts", "ends", "contains"}) + " " + quoted(literal());
      case 2: case 3: return std::string(pick({"name", "module"})) + " " + pick({"in", "starts", "ends", "contains"}) + " " + literal_set();
      case 4: case 5: return std::string(pick({"name", "module"})) + " ~ /" + regex() + "/";
      case 6: return std::string("rank ") + pick({"==", "!=", "<", "<=", ">", ">="}) + " " + std::to_string(below(4));
      case 7: return std::string("rank in {") + std::to_string(below(4)) + ", " + std::to_string(below(4)) + "}";
      case 8: return std::string("shape == ") + pick({"[64]", "[_]", "[_, 64]", "[192, _]", "[1, 197, 64]", "[256]", "[_, _]"});
      case 9: return std::string("dtype ") + pick({"== fp32", "== bf16", "in {float16, bfloat16}", "!= float32", "== int64"});
      case 10: return std::string("kind ") + pick({"== parameter", "== buffer", "in {parameter, buffer}"});
      case 11: return std::string("type ") + pick({"in {LayerNorm, Linear}", "== Embedding", "is WindowAttention", "is {Linear}",
                                                   "in {VisionTransformer}", "== LayerNorm"});
      case 12: return pick({"trainable", "frozen", "true", "false", "new"});
      case 13: return std::string("module under ") + pick({"{\"blocks.0\"}", "{\"embed\", \"head\"}", "{\"blocks.11.attn\"}", "{\"\"}"});
      case 14: return std::string("stage ") + pick({"== 0", "in {late, 0}", "== late"});
      default: return lets_.empty() ? "true" : lets_[random_() % lets_.size()];
    }
  }

  std::string predicate(int depth) {
    if (depth == 0 || one_in(3)) return test();
    switch (below(4)) {
      case 0: return predicate(depth - 1) + " and " + predicate(depth - 1);
      case 1: return predicate(depth - 1) + " or " + predicate(depth - 1);
      case 2: return "not " + (one_in(2) ? test() : "(" + predicate(depth - 1) + ")");
      default: return "(" + predicate(depth - 1) + (one_in(2) ? " or " : " and ") + predicate(depth - 1) + ")";
    }
  }

  std::mt19937 random_;
  std::vector<std::string> lets_;
};

}  // namespace

TEST_CASE("generated rule files evaluate alike with and without the optimizer") {
  const TensorTable& table = fuzz::sample_table();
  RuleWriter writer(20261202);
  int evaluated = 0, with_groups = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string text = writer.file();
    auto source = std::make_shared<SourceFile>(SourceFile{"generated.tx", text});
    Diagnostics diagnostics;
    tx::File file = tx::parse(source, diagnostics);
    if (diagnostics.has_errors()) continue;
    std::string printed = tx::print_file(file);  // `taxon fmt`: parses again, and prints the same
    Diagnostics reparsed;
    auto printed_source = std::make_shared<SourceFile>(SourceFile{"generated.fmt.tx", printed});
    if (tx::File again = tx::parse(printed_source, reparsed); reparsed.has_errors() || tx::print_file(again) != printed)
      FAIL_CHECK(text << "---- taxon fmt printed:\n" << printed);
    tx::Lowered lowered = tx::lower(file, diagnostics);
    if (diagnostics.has_errors()) continue;
    ++evaluated;
    with_groups += lowered.program.groups.has_value();
    EvalOptions as_written;
    as_written.optimize = false;
    EvalResult fast = evaluate(lowered.program, table), slow = evaluate(lowered.program, table, as_written);
    std::string fast_text = testing::summary(fast, table), slow_text = testing::summary(slow, table);
    if (fast_text != slow_text) FAIL_CHECK(text << "---- optimized:\n" << fast_text << "---- as written:\n" << slow_text);
    std::string fast_diagnostics = testing::diagnostics_summary(fast), slow_diagnostics = testing::diagnostics_summary(slow);
    if (fast_diagnostics != slow_diagnostics)
      FAIL_CHECK(text << "---- optimized:\n" << fast_diagnostics << "---- as written:\n" << slow_diagnostics);
  }
  // The writer's files are mostly valid ones, and reach groups and set rules.
  CHECK(evaluated > 1500);
  CHECK(with_groups > 1000);
}
