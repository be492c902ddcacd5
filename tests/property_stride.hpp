// The property tests' stride: the sanitizer run checks memory, not results, and its code runs
// ~10x slower, so it takes every Nth case (TAXON_PROPERTY_STRIDE, set by the `asan` test preset);
// the Release run, without the variable, takes every case.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>

namespace taxon::testing {

inline std::size_t property_stride() {
  const char* text = std::getenv("TAXON_PROPERTY_STRIDE");
  if (!text || !*text) return 1;
  std::size_t stride = std::stoul(text);
  return stride == 0 ? 1 : stride;
}

}  // namespace taxon::testing
