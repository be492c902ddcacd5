// The resumable DFA answers as RE2 does: for every pattern of a corpus that
// covers the syntax it takes, on names and on random strings fed in an order
// that exercises resuming (shared prefixes), its matches equal RE2::PartialMatch.
// The literal index likewise equals the plain string tests.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include <re2/re2.h>

#include "engine/index/literal_index.hpp"
#include "engine/index/regex_dfa.hpp"

using namespace taxon;

namespace {

const std::vector<std::string> kPatterns = {
    "blocks", "^blocks\\.", "weight$", "^a$", "^$", "a|b", "(a|)b", "x*", "^x+y?$", "a{2}", "a{2,}", "^a{1,3}$",
    "[abc]+", "[^a.]+$", "[a-c0-2]", "[-a]", "[a-]", "[]a]", "\\d+", "\\D", "\\w+\\.", "\\W", "\\s", "^\\S+$", ".",
    "^.{3}$", "a.b", "(?:ab)+", "(?P<i>\\d+)\\.(?P<j>\\d)", "layers\\.(?P<i>\\d+)\\.mlp", "\\Ablocks", "weight\\z",
    "^(model\\.)?layers\\.(1\\d|2[0-3])\\.", "experts\\.[0-7]\\.down", "a{0}", "(a|ab)(c|bcd)(d*)", "\\.", "\\\\",
    "[\\d.]+", "[\\w-]+$", "x{1,2}?y", "a*?b", "a+?", "(a*)*b", "(a|b)*abb", "^(\\.|[a-z])+$", "\\t", "\\{", "a{,2}",
    "{", "a{x}", "^[^\\d]*$",
};

std::vector<std::string> subjects() {
  std::vector<std::string> out = {"",
                                  "a",
                                  "b",
                                  "ab",
                                  "abb",
                                  "aab",
                                  "abcd",
                                  "blocks.0.weight",
                                  "blocks.10.mlp.fc1.weight",
                                  "model.layers.12.mlp.experts.3.down_proj.weight",
                                  "model.layers.12.mlp.experts.3.down_proj.weight_scale_inv",
                                  "model.layers.23.self_attn.q_proj.weight",
                                  "layers.1.mlp",
                                  "xxy",
                                  "xy",
                                  "a{,2}",
                                  "{",
                                  "a{x}",
                                  "tab\there",
                                  "back\\slash",
                                  "a-b_c",
                                  "...",
                                  "aaa",
                                  "aaaa"};
  std::mt19937 random(12345);
  const std::string alphabet = "ab.01_x-y{}";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    // Often extend the previous string: consecutive subjects share prefixes, as names do.
    if (!out.empty() && random() % 2) s = out.back().substr(0, random() % (out.back().size() + 1));
    for (std::size_t n = random() % 8; n > 0; --n) s += alphabet[random() % alphabet.size()];
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("the resumable DFA finds exactly the matches RE2 finds") {
  RegexDfa dfa;
  std::vector<std::unique_ptr<RE2>> reference;
  std::vector<std::size_t> taken;
  for (std::size_t i = 0; i < kPatterns.size(); ++i) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(kPatterns[i], options);
    REQUIRE_MESSAGE(re->ok(), kPatterns[i]);
    if (dfa.add(kPatterns[i], i)) taken.push_back(i);
    reference.push_back(std::move(re));
  }
  CHECK(taken.size() == kPatterns.size());  // the corpus is all syntax the DFA takes
  RegexDfa::Scanner scanner(dfa);
  auto names = subjects();
  for (const auto& subject : names) {
    CAPTURE(subject);
    std::vector<std::size_t> found;
    REQUIRE(scanner.match(subject, found));
    std::set<std::size_t> got(found.begin(), found.end()), want;
    for (std::size_t i : taken)
      if (RE2::PartialMatch(subject, *reference[i])) want.insert(i);
    CHECK(got == want);
  }
}

TEST_CASE("the DFA refuses what it does not take - and non-ASCII names") {
  RegexDfa dfa;
  for (const char* pattern : {"(?i)abc", "\\bword", "\\pL", "\\x41", "[[:alpha:]]", "é", "a{200}"}) {
    CAPTURE(pattern);
    CHECK_FALSE(dfa.add(pattern, 0));
  }
  CHECK(dfa.add("a", 0));
  RegexDfa::Scanner scanner(dfa);
  std::vector<std::size_t> found;
  CHECK_FALSE(scanner.match("caf\xc3\xa9", found));
  CHECK(scanner.match("cat", found));
  CHECK(found == std::vector<std::size_t>{0});
}

TEST_CASE("a scan stopped by a non-ASCII byte leaves nothing for the next name to resume from") {
  RegexDfa dfa;
  REQUIRE(dfa.add("^abbbd", 0));
  RegexDfa::Scanner scanner(dfa);
  std::vector<std::size_t> found;
  CHECK(scanner.match("abbbc", found));  // the states after "a", "ab", "abb", "abbb" are kept
  CHECK(found.empty());
  CHECK_FALSE(scanner.match("a\xff" "bbc", found));  // stops at the second byte
  // Shares four bytes with the name before: resumed from the state after "abbb" of the first
  // name, the scan would read only "d" and find ^abbbd.
  CHECK_FALSE(scanner.match("a\xff" "bbd", found));
  CHECK(found.empty());
  CHECK(scanner.match("abbbd", found));
  CHECK(found == std::vector<std::size_t>{0});
}

namespace {

// The literal index's answers on every subject, against the plain string tests.
void check_literal_index(const std::vector<std::pair<MatchOp, std::string>>& patterns) {
  LiteralIndex index;
  std::vector<std::size_t> ids;
  for (const auto& [op, pattern] : patterns) ids.push_back(index.add(op, pattern));
  index.build();
  LiteralIndex::Scanner scanner(index);
  auto names = subjects();
  for (const auto& subject : names) {
    std::vector<std::size_t> found;
    scanner.match(subject, found);
    std::set<std::size_t> got(found.begin(), found.end()), want;
    for (std::size_t k = 0; k < patterns.size(); ++k) {
      const auto& [op, p] = patterns[k];
      std::string_view s = subject;
      bool hit = op == MatchOp::equals ? s == p : op == MatchOp::starts ? s.starts_with(p) : op == MatchOp::ends ? s.ends_with(p)
                                                                                                              : s.find(p) != s.npos;
      if (hit) want.insert(ids[k]);
    }
    if (got != want) {
      std::string listed;
      for (const auto& [op, p] : patterns) listed += std::to_string(static_cast<int>(op)) + ":\"" + p + "\" ";
      FAIL_CHECK("on \"" << subject << "\" with " << listed);
    }
  }
}

}  // namespace

TEST_CASE("the literal index finds what the plain string tests find") {
  std::vector<std::pair<MatchOp, std::string>> patterns = {
      {MatchOp::equals, "ab"},    {MatchOp::equals, "blocks.0.weight"}, {MatchOp::starts, "a"},
      {MatchOp::starts, "ab."},   {MatchOp::starts, "blocks."},         {MatchOp::ends, "b"},
      {MatchOp::ends, ".weight"}, {MatchOp::ends, "weight"},            {MatchOp::contains, "b"},
      {MatchOp::contains, ".0"},  {MatchOp::contains, "aba"},           {MatchOp::contains, "ba"},
      {MatchOp::contains, "_x-"}, {MatchOp::starts, "x"},               {MatchOp::ends, "{}"},
  };
  check_literal_index(patterns);
  // The empty pattern: every name starts, ends with and contains it; only "" equals it. The
  // optimizer folds such tests away, but not every predicate the index serves is optimized.
  for (MatchOp op : {MatchOp::equals, MatchOp::starts, MatchOp::ends, MatchOp::contains}) {
    CAPTURE(static_cast<int>(op));
    check_literal_index({{op, ""}});
    patterns.emplace_back(op, "");
    check_literal_index(patterns);
  }
}

TEST_CASE("the literal index on random pattern sets - empty patterns among them") {
  std::mt19937 random(7);
  const std::string alphabet = "ab.01_x";
  for (int round = 0; round < 300; ++round) {
    std::vector<std::pair<MatchOp, std::string>> patterns;
    for (std::size_t n = 1 + random() % 6; n > 0; --n) {
      std::string pattern;
      for (std::size_t k = random() % 4; k > 0; --k) pattern += alphabet[random() % alphabet.size()];
      patterns.emplace_back(static_cast<MatchOp>(random() % 4), pattern);
    }
    check_literal_index(patterns);
  }
}

// Random patterns over the syntax's edges (braces, counts with leading zeros, empty
// alternatives, classes, anchors): whatever the DFA takes, it answers as RE2 does.
TEST_CASE("on random patterns the DFA either refuses or answers as RE2 does") {
  const std::vector<std::string> tokens = {
      "a", "b", ".", "{", "}", "0", "1", "2", ",", "*", "+", "?", "|", "(", ")", "[", "]", "^", "$", "-",
      "\\d", "\\.", "{0}", "{00}", "{01}", "{1,02}", "{2,}", "{,1}", "(?:", "\\{", "\\w", "\\s", "\\S", "\\W",
      "\\D", "[^", "\\A", "\\z", "*?", "(?P<n>", "\\}", "\\]", "\\[", "\\-", "\\^", "\\$", "\\\\", "{3}",
      "{1,1}", "{2,1}", "{0,}", "[a-", "-]", "\\b", "\\B", "(?i)", "(?s)", "\\n", "\\x7b", "\\Q", "\\E",
      "[[:digit:]]", "{ 1}", "{1 }"};
  const std::string alphabet = "ab01{},. _-\n[]^$AB";
  std::mt19937 random(2026);
  std::vector<std::string> texts = {""};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (std::size_t n = random() % 9; n > 0; --n) s += alphabet[random() % alphabet.size()];
    texts.push_back(s);
  }
  for (const char* literal : {"a{0000}", "a{00}", "a{01}", "ab{1,02}", "a{,1}", "{0}", "a{0}b"}) texts.push_back(literal);
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string pattern;
    for (std::size_t n = 1 + random() % 6; n > 0; --n) pattern += tokens[random() % tokens.size()];
    RE2::Options options;
    options.set_log_errors(false);
    RE2 reference(pattern, options);
    if (!reference.ok()) continue;
    RegexDfa dfa;
    if (!dfa.add(pattern, 0)) continue;
    ++taken;
    RegexDfa::Scanner scanner(dfa);
    for (const auto& text : texts) {
      std::vector<std::size_t> found;
      REQUIRE(scanner.match(text, found));
      if (found.empty() == RE2::PartialMatch(text, reference)) FAIL_CHECK("/" << pattern << "/ on \"" << text << "\"");
    }
  }
  CHECK(taken > 1000);  // the generator reaches the syntax the DFA takes, not only refusals

  // Several patterns in one DFA: every state after the first byte holds the restart of all of
  // them, which the DFA works out once; each pattern's matches must still be RE2's.
  int sets = 0;
  for (int i = 0; i < 3000; ++i) {
    RegexDfa dfa;
    std::vector<std::unique_ptr<RE2>> references;
    std::string patterns;  // for a message
    for (std::size_t count = 2 + random() % 5; count > 0; --count) {
      std::string pattern;
      for (std::size_t n = 1 + random() % 5; n > 0; --n) pattern += tokens[random() % tokens.size()];
      RE2::Options options;
      options.set_log_errors(false);
      auto reference = std::make_unique<RE2>(pattern, options);
      if (!reference->ok() || !dfa.add(pattern, references.size())) continue;
      references.push_back(std::move(reference));
      patterns += " /" + pattern + "/";
    }
    if (references.size() < 2) continue;
    ++sets;
    RegexDfa::Scanner scanner(dfa);
    for (const auto& text : texts) {
      std::vector<std::size_t> found;
      REQUIRE(scanner.match(text, found));
      std::set<std::size_t> got(found.begin(), found.end()), want;
      for (std::size_t id = 0; id < references.size(); ++id)
        if (RE2::PartialMatch(text, *references[id])) want.insert(id);
      if (got != want) FAIL_CHECK(patterns << " on \"" << text << "\"");
    }
  }
  CHECK(sets > 300);
}
