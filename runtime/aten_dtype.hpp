// PyTorch's dtype names ("float32", "bfloat16", ...) <-> ATen's scalar types, for the two
// LibTorch users: the actions library and the trainer API. Derived from the dtype table
// (engine/dtype.hpp), whose ATen numbers are checked here against the LibTorch we build with.
// Header only, so that neither links the other; nothing else may include it.
#pragma once

#include <optional>
#include <string_view>

#include <c10/core/ScalarType.h>

#include "engine/dtype.hpp"

namespace taxon {

// The table's ATen numbers are c10's, for every dtype handed to LibTorch.
static_assert(dtype_info(DType::float32).aten == static_cast<int>(c10::ScalarType::Float));
static_assert(dtype_info(DType::float64).aten == static_cast<int>(c10::ScalarType::Double));
static_assert(dtype_info(DType::float16).aten == static_cast<int>(c10::ScalarType::Half));
static_assert(dtype_info(DType::bfloat16).aten == static_cast<int>(c10::ScalarType::BFloat16));
static_assert(dtype_info(DType::complex64).aten == static_cast<int>(c10::ScalarType::ComplexFloat));
static_assert(dtype_info(DType::complex128).aten == static_cast<int>(c10::ScalarType::ComplexDouble));
static_assert(dtype_info(DType::int64).aten == static_cast<int>(c10::ScalarType::Long));
static_assert(dtype_info(DType::int32).aten == static_cast<int>(c10::ScalarType::Int));
static_assert(dtype_info(DType::int16).aten == static_cast<int>(c10::ScalarType::Short));
static_assert(dtype_info(DType::int8).aten == static_cast<int>(c10::ScalarType::Char));
static_assert(dtype_info(DType::uint8).aten == static_cast<int>(c10::ScalarType::Byte));
static_assert(dtype_info(DType::bool_).aten == static_cast<int>(c10::ScalarType::Bool));

// nullopt for what LibTorch does not compute on here (float8, unsigned wider than 8 bits, complex).
inline std::optional<c10::ScalarType> aten_scalar_type(std::string_view dtype) {
  std::optional<DType> known = dtype_from_name(dtype);
  if (!known || !computed_by_libtorch(*known)) return std::nullopt;
  return static_cast<c10::ScalarType>(dtype_info(*known).aten);
}

// A static string ("float32"), or "?" for a scalar type taxon does not hand to LibTorch.
inline const char* aten_dtype_name(c10::ScalarType type) {
  for (const auto& entry : kDTypes)
    if (computed_by_libtorch(entry.dtype) && entry.aten == static_cast<int>(type))
      return entry.name.data();  // a string literal's: NUL-terminated
  return "?";
}

}  // namespace taxon
