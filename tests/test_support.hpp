// Helpers shared by the test files. A target's test files are compiled together in unity batches
// (CMakeLists.txt), so a helper lives here once instead of once per file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "engine/ir.hpp"

namespace taxon::testing {

// The source tree (tests read their data from it), without a trailing slash.
inline const std::string source_root = TAXON_SOURCE_DIR;

// A numeric option's value, whether the rules computed it as an integer or a float.
inline double number(const OptionValue& value) {
  if (const double* d = std::get_if<double>(&value.value)) return *d;
  return static_cast<double>(std::get<int64_t>(value.value));
}

// The property tests' stride: the sanitizer run checks memory, not results, and its code runs
// ~10x slower, so it takes every Nth case (TAXON_PROPERTY_STRIDE, set by the `asan` test preset);
// the Release run, without the variable, takes every case.
inline std::size_t property_stride() {
  const char* text = std::getenv("TAXON_PROPERTY_STRIDE");
  if (!text || !*text) return 1;
  std::size_t stride = std::stoul(text);
  return stride == 0 ? 1 : stride;
}

}  // namespace taxon::testing
