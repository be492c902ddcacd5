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
  void build();
  // Appends the id of every regex that finds a match in `subject` to `found`.
  void match(std::string_view subject, std::vector<std::size_t>& found) const;

  std::size_t size() const { return patterns_.size(); }
  bool empty() const { return patterns_.empty(); }
  std::string describe() const;

 private:
  std::unique_ptr<re2::RE2::Set> set_;
  std::vector<std::string> patterns_;
  std::unordered_map<std::string, std::size_t> ids_;
  mutable std::vector<std::unique_ptr<re2::RE2>> fallback_;  // when the set cannot answer: each regex on its own
  mutable std::vector<int> hits_;
};

}  // namespace taxon
