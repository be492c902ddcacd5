// The regexes of a rule set on one field (and its literal tests, written as
// regexes: `starts "a."` is /^a\./) as one lazily built DFA that tells which
// of them find a match in a name, and that resumes after the prefix a
// name shares with the previous one (tensor names come grouped, so most of a
// name is never walked twice). It takes the RE2 syntax rules are written in,
// short of what needs more than bytes: flags such as (?i), \b, Unicode
// classes, \pN, \x escapes. A regex it does not take, a name with non-ASCII
// bytes, and a set whose DFA would outgrow its budget are answered by an
// RE2::Set instead (engine/index/regex_set.hpp): the answers are the same.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace taxon {

class RegexDfa {
 public:
  RegexDfa();
  ~RegexDfa();
  RegexDfa(RegexDfa&&) noexcept;
  // Adds the regex under `id`; false when its syntax is not one the DFA takes.
  bool add(std::string_view pattern, std::size_t id);
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::size_t states() const;
  // The ids of the regexes that match a name ending in `state` (from Scanner::end_state).
  std::vector<std::size_t> matched(int32_t state) const;

  class Scanner {
   public:
    explicit Scanner(RegexDfa& dfa) : dfa_(dfa) {}
    // Appends the id of every regex that finds a match in `subject`; false
    // (nothing appended) when the DFA cannot answer: a non-ASCII name, or the
    // state budget spent. The subject's bytes must stay alive until the next call.
    bool match(std::string_view subject, std::vector<std::size_t>& found);
    // The same, as the DFA state the name ends in (-1 when the DFA cannot
    // answer); matched(state) lists the ids. States stay numbered while the DFA lives.
    int32_t end_state(std::string_view subject);

   private:
    RegexDfa& dfa_;
    std::string_view previous_;
    std::vector<int32_t> rows_;  // the DFA state (its row of transitions) after each prefix of the previous name: the first known_ are read
    std::size_t known_ = 0;
  };

 private:
  struct Nfa;
  struct Dfa;
  std::unique_ptr<Nfa> nfa_;
  std::unique_ptr<Dfa> dfa_;
  std::vector<std::size_t> ids_;  // per regex added: the caller's id
};

}  // namespace taxon
