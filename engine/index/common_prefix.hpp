// How many leading bytes two names share: where the resumable walks over
// names (literal_index.cpp, regex_dfa.cpp) pick up from the previous name.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace taxon {

inline std::size_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t shared = 0, limit = a.size() < b.size() ? a.size() : b.size();
  while (shared + 8 <= limit) {  // eight bytes at a time, then byte by byte
    uint64_t x, y;
    std::memcpy(&x, a.data() + shared, 8);
    std::memcpy(&y, b.data() + shared, 8);
    if (x != y) break;
    shared += 8;
  }
  while (shared < limit && a[shared] == b[shared]) ++shared;
  return shared;
}

}  // namespace taxon
