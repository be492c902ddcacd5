#include "engine/index/regex_set.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

namespace taxon {
namespace {

re2::RE2::Options regex_options() {
  re2::RE2::Options options;  // as compile_regex: RE2 syntax, errors returned, not logged
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  return options;
}

}  // namespace

RegexSet::RegexSet() = default;
RegexSet::~RegexSet() = default;

bool RegexSet::add(const std::string& pattern, std::size_t& id, std::string& error) {
  if (auto found = ids_.find(pattern); found != ids_.end()) {
    id = found->second;
    return true;
  }
  if (!set_) set_ = std::make_unique<re2::RE2::Set>(regex_options(), re2::RE2::UNANCHORED);
  int index = set_->Add(pattern, &error);
  if (index < 0) return false;
  id = patterns_.size();
  ids_.emplace(pattern, id);
  patterns_.push_back(pattern);
  return true;
}

void RegexSet::compile() const {
  if (compiled_) return;
  compiled_ = true;
  if (set_ && !set_->Compile()) set_.reset();  // each regex on its own then (built on first use)
}

void RegexSet::match(std::string_view subject, std::vector<std::size_t>& found) const {
  compile();
  re2::StringPiece text(subject.data(), subject.size());
  if (set_) {
    hits_.clear();
    re2::RE2::Set::ErrorInfo info;
    if (set_->Match(text, &hits_, &info)) {
      for (int hit : hits_) found.push_back(static_cast<std::size_t>(hit));
      return;
    }
    if (info.kind == re2::RE2::Set::kNoError || info.kind == re2::RE2::Set::kInconsistent) return;
    // The set's automaton ran out of memory on this subject: ask each regex instead.
  }
  if (fallback_.empty())
    for (const auto& pattern : patterns_) fallback_.push_back(std::make_unique<re2::RE2>(pattern, regex_options()));
  for (std::size_t i = 0; i < fallback_.size(); ++i)
    if (re2::RE2::PartialMatch(text, *fallback_[i])) found.push_back(i);
}

std::string RegexSet::describe() const {
  compile();
  return fmt::format("{} regexes in {}", patterns_.size(), set_ ? "one RE2::Set" : "separate RE2s (the set exceeded its memory)");
}

}  // namespace taxon
