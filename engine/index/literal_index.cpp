#include "engine/index/literal_index.hpp"

#include <deque>

#include <fmt/format.h>

#include "engine/index/common_prefix.hpp"

namespace taxon {
namespace {

constexpr uint32_t kHasOutput = 0x80000000u;
constexpr int32_t kStateMask = 0x7fffffff;

}  // namespace

LiteralIndex::LiteralIndex() = default;

std::size_t LiteralIndex::add(MatchOp op, const std::string& pattern) {
  std::string key = std::string(1, static_cast<char>('0' + static_cast<int>(op))) + pattern;
  auto [found, inserted] = ids_.emplace(std::move(key), count_);
  if (inserted) pending_.push_back({op, pattern, count_++});
  return found->second;
}

int32_t LiteralIndex::Automaton::add_state() {
  outputs.emplace_back();
  exact.emplace_back();
  return static_cast<int32_t>(outputs.size() - 1);
}

// Adds the pattern's path; returns the state where it ends.
int32_t LiteralIndex::Automaton::insert(std::string_view pattern, bool reversed, const std::array<uint8_t, 256>& classes,
                                        std::size_t class_count) {
  int32_t state = 0;
  for (std::size_t k = 0; k < pattern.size(); ++k) {
    auto byte = static_cast<unsigned char>(reversed ? pattern[pattern.size() - 1 - k] : pattern[k]);
    std::size_t slot = static_cast<std::size_t>(state) * class_count + classes[byte];
    if (next[slot] <= 0) {
      int32_t created = add_state();
      next.resize(outputs.size() * class_count, -1);
      next[slot] = created;
    }
    state = next[slot];
  }
  ++patterns;
  return state;
}

void LiteralIndex::build() {
  // Byte classes: one per byte some pattern uses, the rest share class 0.
  for (const auto& p : pending_)
    for (unsigned char c : p.pattern)
      if (classes_[c] == 0) classes_[c] = static_cast<uint8_t>(class_count_++);
  for (Automaton* automaton : {&starts_, &ends_, &contains_}) {
    automaton->add_state();
    automaton->next.assign(class_count_, -1);
  }
  auto at = [](std::vector<std::vector<std::size_t>>& lists, int32_t state) -> auto& {
    return lists[static_cast<std::size_t>(state)];
  };
  for (const auto& p : pending_) {
    if (p.pattern.empty() && p.op != MatchOp::equals) {  // every name starts, ends with, contains ""
      everywhere_.push_back(p.id);
      continue;
    }
    switch (p.op) {
      case MatchOp::equals:
        at(starts_.exact, starts_.insert(p.pattern, false, classes_, class_count_)).push_back(p.id);
        ++equals_;
        break;
      case MatchOp::starts: at(starts_.outputs, starts_.insert(p.pattern, false, classes_, class_count_)).push_back(p.id); break;
      case MatchOp::ends: at(ends_.outputs, ends_.insert(p.pattern, true, classes_, class_count_)).push_back(p.id); break;
      case MatchOp::contains:
        at(contains_.outputs, contains_.insert(p.pattern, false, classes_, class_count_)).push_back(p.id);
        break;
      case MatchOp::regex: break;
    }
  }
  // Tries: a missing transition is the dead state 0 (the root has no pattern but "").
  for (Automaton* trie : {&starts_, &ends_})
    for (auto& target : trie->next)
      if (target < 0) target = 0;
  // Aho-Corasick: complete the goto function with failure links (breadth first), and give
  // each state the outputs of its failure chain, so a walk reads outputs without chasing links.
  contains_.fail.assign(contains_.outputs.size(), 0);
  std::deque<int32_t> queue;
  for (std::size_t c = 0; c < class_count_; ++c) {
    int32_t& target = contains_.next[c];
    if (target < 0) target = 0;
    else queue.push_back(target);
  }
  while (!queue.empty()) {
    int32_t state = queue.front();
    queue.pop_front();
    auto& own = contains_.outputs[static_cast<std::size_t>(state)];
    const auto& inherited = contains_.outputs[static_cast<std::size_t>(contains_.fail[static_cast<std::size_t>(state)])];
    own.insert(own.end(), inherited.begin(), inherited.end());
    for (std::size_t c = 0; c < class_count_; ++c) {
      std::size_t slot = static_cast<std::size_t>(state) * class_count_ + c;
      int32_t fallback = contains_.next[static_cast<std::size_t>(contains_.fail[static_cast<std::size_t>(state)]) * class_count_ + c];
      if (contains_.next[slot] < 0) {
        contains_.next[slot] = fallback;
      } else {
        contains_.fail[static_cast<std::size_t>(contains_.next[slot])] = fallback;
        queue.push_back(contains_.next[slot]);
      }
    }
  }
  // The walks read one table entry per byte; the sign bit of an entry says whether
  // the state it leads to has outputs, so a step without one touches nothing else.
  for (Automaton* automaton : {&starts_, &ends_, &contains_})
    for (auto& target : automaton->next)
      if (!automaton->outputs[static_cast<std::size_t>(target)].empty()) target = static_cast<int32_t>(static_cast<uint32_t>(target) | kHasOutput);
  pending_.clear();
}

void LiteralIndex::Scanner::match(std::string_view subject, std::vector<std::size_t>& found) {
  std::string_view previous = previous_;
  previous_ = subject;
  std::size_t shared = common_prefix(subject, previous);
  const LiteralIndex& ix = index_;
  const std::size_t classes = ix.class_count_;
  const auto* byte_class = ix.classes_.data();
  found.insert(found.end(), ix.everywhere_.begin(), ix.everywhere_.end());
  if (ix.starts_.patterns) {
    if (starts_read_ == kWhole || shared < starts_read_) {
      starts_hits_.clear();
      const int32_t* next = ix.starts_.next.data();
      int32_t state = 0;
      std::size_t k = 0;
      for (; k < subject.size(); ++k) {
        int32_t entry = next[static_cast<std::size_t>(state) * classes + byte_class[static_cast<unsigned char>(subject[k])]];
        state = entry & kStateMask;
        if (state == 0) break;
        if (entry < 0) {
          const auto& out = ix.starts_.outputs[static_cast<std::size_t>(state)];
          starts_hits_.insert(starts_hits_.end(), out.begin(), out.end());
        }
      }
      if (k == subject.size()) {  // read to the end: an `==` may hold, and only this very name answers so
        const auto& exact = ix.starts_.exact[static_cast<std::size_t>(state)];
        starts_hits_.insert(starts_hits_.end(), exact.begin(), exact.end());
        starts_read_ = kWhole;
      } else {
        starts_read_ = k + 1;
      }
    }
    found.insert(found.end(), starts_hits_.begin(), starts_hits_.end());
  }
  if (ix.ends_.patterns) {
    bool same_tail = ends_read_ != kWhole && subject.size() >= ends_read_ && previous.size() >= ends_read_ &&
                     subject.substr(subject.size() - ends_read_) == previous.substr(previous.size() - ends_read_);
    if (!same_tail) {
      ends_hits_.clear();
      const int32_t* next = ix.ends_.next.data();
      int32_t state = 0;
      std::size_t read = 0;
      bool died = false;  // no pattern continues: the bytes before these cannot change the answer
      for (std::size_t k = subject.size(); k-- > 0;) {
        ++read;
        int32_t entry = next[static_cast<std::size_t>(state) * classes + byte_class[static_cast<unsigned char>(subject[k])]];
        state = entry & kStateMask;
        if (state == 0) {
          died = true;
          break;
        }
        if (entry < 0) {
          const auto& out = ix.ends_.outputs[static_cast<std::size_t>(state)];
          ends_hits_.insert(ends_hits_.end(), out.begin(), out.end());
        }
      }
      ends_read_ = died ? read : kWhole;
    }
    found.insert(found.end(), ends_hits_.begin(), ends_hits_.end());
  }
  if (ix.contains_.patterns) {
    // Resume after the prefix this name shares with the previous one.
    while (!hits_.empty() && hits_.back().first > shared) hits_.pop_back();
    for (const auto& hit : hits_) found.push_back(hit.second);
    states_.resize(shared + 1);
    const int32_t* next = ix.contains_.next.data();
    int32_t state = states_[shared];
    for (std::size_t k = shared; k < subject.size(); ++k) {
      int32_t entry = next[static_cast<std::size_t>(state) * classes + byte_class[static_cast<unsigned char>(subject[k])]];
      state = entry & kStateMask;
      states_.push_back(state);
      if (entry < 0)
        for (std::size_t id : ix.contains_.outputs[static_cast<std::size_t>(state)]) {
          hits_.emplace_back(k + 1, id);
          found.push_back(id);  // a pattern found twice is reported twice: harmless
        }
    }
  }
}

std::string LiteralIndex::describe() const {
  return fmt::format("{} literal patterns over {} byte classes: {} `==` and {} `starts` (one trie, {} states), "
                     "{} `ends` (reversed trie, {} states), {} `contains` (Aho-Corasick, {} states)",
                     count_, class_count_, equals_, starts_.patterns - equals_, starts_.outputs.size(), ends_.patterns,
                     ends_.outputs.size(), contains_.patterns, contains_.outputs.size());
}

}  // namespace taxon
