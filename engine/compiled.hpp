// The compiled evaluator: rules answered for a whole table at once. Each
// distinct sub-predicate of all the rules (predicate_key) is one node,
// computed once as a bitset over the tensors; the string tests of every rule
// are answered in one pass over the names by a literal index and a regex set
// per field (engine/index/literal_index.hpp, regex_set.hpp); module types
// through a memo. `and`, `or` and `not` are then word-wide bit operations.
// Internal to the engine: evaluate() uses it when EvalOptions::optimize.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/ir.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

class Matcher;

class Bitset {
 public:
  Bitset() = default;
  Bitset(std::size_t size, bool value);
  bool test(std::size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void set(std::size_t i) { words_[i >> 6] |= uint64_t{1} << (i & 63); }
  // Sets the bits of `bits` in word `word` (bits 64 * word to 64 * word + 63) at once.
  void set_in_word(std::size_t word, uint64_t bits) { words_[word] |= bits; }
  Bitset& operator&=(const Bitset& other);
  Bitset& operator|=(const Bitset& other);
  Bitset operator~() const;
  Bitset and_not(const Bitset& other) const;
  std::size_t count() const;
  std::size_t size() const { return size_; }
  // Calls `visit(i)` for each set bit, in increasing order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for_each_in_words(0, words_.size(), visit);
  }
  // The same for the bits of words [first, last) (bits 64 * first to 64 * last): parts of the
  // set for threads to share.
  std::size_t words() const { return words_.size(); }
  template <typename Visit>
  void for_each_in_words(std::size_t first, std::size_t last, Visit&& visit) const {
    for (std::size_t w = first; w < last; ++w)
      for (uint64_t word = words_[w]; word; word &= word - 1)
        visit(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word)));
  }

 private:
  std::vector<uint64_t> words_;
  std::size_t size_ = 0;
};

class CompiledRules {
 public:
  // `roots` are the (optimized) rules, in the order root() answers them.
  CompiledRules(const std::vector<const Predicate*>& roots, const TensorTable& table, const Matcher& matcher);
  ~CompiledRules();

  // The tensors rule `index` matches (every tensor of the table, universes aside).
  const Bitset& root(std::size_t index);
  // Freezing changed what `trainable` answers: forget what depends on it.
  void trainable_changed();
  // What was built, for `taxon eval --explain-plan`.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taxon
