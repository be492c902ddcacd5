// PyTorch's dtype names ("float32", "bfloat16", ...) <-> ATen's scalar types,
// for the two LibTorch users: the actions library and the trainer API.
// Header only, so that neither links the other; nothing else may include it.
#pragma once

#include <optional>
#include <string_view>

#include <c10/core/ScalarType.h>

namespace taxon {

inline std::optional<c10::ScalarType> aten_scalar_type(std::string_view dtype) {
  if (dtype == "float32") return c10::kFloat;
  if (dtype == "float64") return c10::kDouble;
  if (dtype == "float16") return c10::kHalf;
  if (dtype == "bfloat16") return c10::kBFloat16;
  if (dtype == "int64") return c10::kLong;
  if (dtype == "int32") return c10::kInt;
  if (dtype == "int16") return c10::kShort;
  if (dtype == "int8") return c10::kChar;
  if (dtype == "uint8") return c10::kByte;
  if (dtype == "bool") return c10::kBool;
  return std::nullopt;  // float8, unsigned wider than 8 bits, complex: not in LibTorch 1.13's reach here
}

inline const char* aten_dtype_name(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat: return "float32";
    case c10::kDouble: return "float64";
    case c10::kHalf: return "float16";
    case c10::kBFloat16: return "bfloat16";
    case c10::kLong: return "int64";
    case c10::kInt: return "int32";
    case c10::kShort: return "int16";
    case c10::kChar: return "int8";
    case c10::kByte: return "uint8";
    case c10::kBool: return "bool";
    default: return "?";
  }
}

}  // namespace taxon
