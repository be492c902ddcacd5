// Every literal `==`, `starts`, `ends` and `contains` pattern of a rule set,
// matched against a name in one walk each: a trie walked from the front for
// `starts` and `==` (an `==` pattern counts only where the name ends), a trie
// of reversed patterns walked from the back for `ends`, and one Aho-Corasick
// automaton for `contains`. The tries stop where no pattern can continue; the
// automaton resumes after the prefix a name shares with the previous one
// (names come grouped: model.layers.12.mlp.experts.143.*). The cost is
// bounded by the names' lengths, not by the number of patterns.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/ir.hpp"

namespace taxon {

class LiteralIndex {
 public:
  LiteralIndex();
  // The id of (op, pattern), added once; op is equals, starts, ends or contains.
  std::size_t add(MatchOp op, const std::string& pattern);
  // Builds the automata; call after the last add.
  void build();
  // Matches names one after the other; keeps what the next name can reuse.
  class Scanner {
   public:
    explicit Scanner(const LiteralIndex& index) : index_(index) {}
    // Appends the id of every pattern `subject` matches to `found` (in no
    // order). The subject's bytes must stay alive until the next call.
    void match(std::string_view subject, std::vector<std::size_t>& found);

   private:
    std::string_view previous_;
    static constexpr std::size_t kWhole = static_cast<std::size_t>(-1);
    const LiteralIndex& index_;
    std::vector<int32_t> states_{0};                         // automaton state after each prefix of the previous name
    std::vector<std::pair<std::size_t, std::size_t>> hits_;  // (end, id) of `contains` patterns in it
    // What the tries found in the previous name, and how much of it they read:
    // a name that agrees on that much gets the same answer.
    std::vector<std::size_t> starts_hits_, ends_hits_;
    std::size_t starts_read_ = kWhole, ends_read_ = kWhole;
  };

  std::size_t size() const { return count_; }
  std::string describe() const;  // for --explain-plan

 private:
  // A byte-class DFA: state x class -> state (0: dead for tries, root for Aho-Corasick).
  struct Automaton {
    std::vector<int32_t> next;                      // states * classes
    std::vector<std::vector<std::size_t>> outputs;  // per state: ids of patterns that end here
    std::vector<std::vector<std::size_t>> exact;    // per state: `==` patterns that end here (starts trie)
    std::vector<int32_t> fail;                      // Aho-Corasick only
    std::size_t patterns = 0;
    int32_t add_state();
    int32_t insert(std::string_view pattern, bool reversed, const std::array<uint8_t, 256>& classes, std::size_t class_count);
  };

  struct Pending {
    MatchOp op;
    std::string pattern;
    std::size_t id;
  };

  std::size_t count_ = 0;
  std::unordered_map<std::string, std::size_t> ids_;  // op + pattern -> id
  std::vector<Pending> pending_;
  std::array<uint8_t, 256> classes_{};  // byte -> class; 0 = a byte no pattern uses
  std::size_t class_count_ = 1;
  std::size_t equals_ = 0;
  Automaton starts_, ends_, contains_;
  std::vector<std::size_t> everywhere_;  // `starts ""`, `ends ""`, `contains ""`: true of every name
};

}  // namespace taxon
