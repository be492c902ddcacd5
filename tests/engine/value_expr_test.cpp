// Numbers read from captures: plain digits take a path of their own; everything reads as strtod
// reads it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "engine/value_expr.hpp"

using namespace taxon;

namespace {
std::optional<double> by_strtod(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}
}  // namespace

TEST_CASE("a capture reads as a number exactly as strtod reads it - digits or not") {
  for (std::string text : {"0", "7", "007", "61", "255", "123456789012345", "1234567890123456", "99999999999999999999", "1.5",
                           "-3", "+2", "1e3", "0x10", "inf", " 4", "4 ", "3a", "", "-", "."}) {
    CAPTURE(text);
    std::optional<double> expected = by_strtod(text), read = capture_number(text);
    REQUIRE(read.has_value() == expected.has_value());
    if (expected) CHECK(*read == *expected);
  }
}
