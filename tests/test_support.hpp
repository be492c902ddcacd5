// Helpers more than one test file needs. A target's test files are compiled together in unity
// batches (CMakeLists.txt), so a helper lives here once instead of once per file.
#pragma once

#include <cstdint>
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

}  // namespace taxon::testing
