// Every regex of a rule set on one field, matched against a name in one
// pass: an RE2::Set (one automaton for all of them) reports which match.
// Should RE2 run out of its memory budget for the set's automaton, each
// regex is matched on its own instead; the answers are the same.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <re2/set.h>

namespace taxon {

class RegexSet {
 public:
  RegexSet();
  ~RegexSet();
  // The id of `pattern`, added once; false with `error` set when it does not compile.
  bool add(const std::string& pattern, std::size_t& id, std::string& error);
  // Appends the id of every regex that finds a match in `subject` to `found`. The set's automaton
  // is compiled at the first call (after the last add): where a DFA answers every name
  // (engine/index/regex_dfa.hpp) it is never needed, and compiling it was most of the set's cost.
  void match(std::string_view subject, std::vector<std::size_t>& found) const;

  std::size_t size() const { return patterns_.size(); }
  bool empty() const { return patterns_.empty(); }
  std::string describe() const;

 private:
  void compile() const;

  mutable std::unique_ptr<re2::RE2::Set> set_;
  mutable bool compiled_ = false;
  std::vector<std::string> patterns_;
  std::unordered_map<std::string, std::size_t> ids_;
  mutable std::vector<std::unique_ptr<re2::RE2>> fallback_;  // when the set cannot answer: each regex on its own
  mutable std::vector<int> hits_;
};

}  // namespace taxon
