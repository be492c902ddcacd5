// Tensor element types: the one table of them. Everything that names, sizes or translates a
// dtype derives from kDTypes and kDTypeAliases: the checkpoint readers and writers (safetensors
// codes, torch storage classes), the language (PyTorch's names and the other spellings it
// accepts), the tensor actions (what LibTorch computes on) and ATen (runtime/aten_dtype.hpp).
// Header only and free of dependencies: the actions library uses it without linking taxon.
// Nothing here needs LibTorch: reading, copying and renaming work for every dtype, float8 included.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taxon {

enum class DType {
  float64, float32, float16, bfloat16, float8_e4m3fn, float8_e5m2, complex64, complex128,
  int64, int32, int16, int8, uint8, uint16, uint32, uint64, bool_
};

enum class DTypeKind { floating, complex, integer, boolean };

struct DTypeInfo {
  DType dtype;
  std::string_view name;           // PyTorch's, without "torch.": "float32"
  std::size_t size;                // bytes per element
  std::string_view safetensors;    // safetensors' code ("F32"); empty: safetensors cannot hold it
  std::string_view storage_class;  // the torch.*Storage class torch.save pickles ("FloatStorage")
  int aten;                        // c10::ScalarType's number (PyTorch serializes it, so it never changes)
  DTypeKind kind;
};

// In DType's order (kDTypes[i].dtype is DType(i)).
inline constexpr DTypeInfo kDTypes[] = {
    {DType::float64, "float64", 8, "F64", "DoubleStorage", 7, DTypeKind::floating},
    {DType::float32, "float32", 4, "F32", "FloatStorage", 6, DTypeKind::floating},
    {DType::float16, "float16", 2, "F16", "HalfStorage", 5, DTypeKind::floating},
    {DType::bfloat16, "bfloat16", 2, "BF16", "BFloat16Storage", 15, DTypeKind::floating},
    {DType::float8_e4m3fn, "float8_e4m3fn", 1, "F8_E4M3", "Float8_e4m3fnStorage", 24, DTypeKind::floating},
    {DType::float8_e5m2, "float8_e5m2", 1, "F8_E5M2", "Float8_e5m2Storage", 23, DTypeKind::floating},
    {DType::complex64, "complex64", 8, "C64", "ComplexFloatStorage", 9, DTypeKind::complex},
    {DType::complex128, "complex128", 16, "", "ComplexDoubleStorage", 10, DTypeKind::complex},
    {DType::int64, "int64", 8, "I64", "LongStorage", 4, DTypeKind::integer},
    {DType::int32, "int32", 4, "I32", "IntStorage", 3, DTypeKind::integer},
    {DType::int16, "int16", 2, "I16", "ShortStorage", 2, DTypeKind::integer},
    {DType::int8, "int8", 1, "I8", "CharStorage", 1, DTypeKind::integer},
    {DType::uint8, "uint8", 1, "U8", "ByteStorage", 0, DTypeKind::integer},
    {DType::uint16, "uint16", 2, "U16", "UInt16Storage", 27, DTypeKind::integer},
    {DType::uint32, "uint32", 4, "U32", "UInt32Storage", 28, DTypeKind::integer},
    {DType::uint64, "uint64", 8, "U64", "UInt64Storage", 29, DTypeKind::integer},
    {DType::bool_, "bool", 1, "BOOL", "BoolStorage", 11, DTypeKind::boolean},
};

// The language's other spellings of a dtype (besides PyTorch's names and safetensors' codes).
struct DTypeAlias {
  std::string_view spelling;
  DType dtype;
};
inline constexpr DTypeAlias kDTypeAliases[] = {
    {"fp64", DType::float64}, {"fp32", DType::float32}, {"fp16", DType::float16}, {"bf16", DType::bfloat16},
    {"double", DType::float64}, {"float", DType::float32}, {"half", DType::float16}, {"long", DType::int64},
    {"int", DType::int32},
};

namespace detail {
constexpr bool dtypes_in_order() {
  for (std::size_t i = 0; i < std::size(kDTypes); ++i)
    if (static_cast<std::size_t>(kDTypes[i].dtype) != i) return false;
  return true;
}
}  // namespace detail
static_assert(detail::dtypes_in_order(), "kDTypes lists every DType once, in DType's order");

constexpr const DTypeInfo& dtype_info(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)]; }
constexpr std::string_view dtype_name(DType dtype) { return dtype_info(dtype).name; }  // "float32"
constexpr std::size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }       // bytes per element

constexpr std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kDTypes)
    if (entry.name == name) return entry.dtype;
  return std::nullopt;
}

// "F32" -> float32.
constexpr std::optional<DType> dtype_from_safetensors(std::string_view code) {
  for (const auto& entry : kDTypes)
    if (!entry.safetensors.empty() && entry.safetensors == code) return entry.dtype;
  return std::nullopt;
}

// nullopt: safetensors cannot hold it.
constexpr std::optional<std::string_view> safetensors_code(DType dtype) {
  if (dtype_info(dtype).safetensors.empty()) return std::nullopt;
  return dtype_info(dtype).safetensors;
}

// torch.FloatStorage and friends -> their element type.
constexpr std::optional<DType> dtype_from_storage_class(std::string_view class_name) {
  for (const auto& entry : kDTypes)
    if (entry.storage_class == class_name) return entry.dtype;
  return std::nullopt;
}

// Every dtype PyTorch 1.13 has: c10::ScalarType up to BFloat16 (15). Float8 came with PyTorch 2.1
// (23, 24) and wide unsigned integers with 2.3 (27-29). Only these are written into a .pt file,
// which any PyTorch can then load.
constexpr bool in_torch_1_13(DType dtype) { return dtype_info(dtype).aten <= 15; }

// What the tensor actions and the trainer hand to LibTorch (1.13) to compute on: its dtypes
// less complex ones. Every other tensor is only ever moved (copied, renamed, reshaped, split).
constexpr bool computed_by_libtorch(DType dtype) {
  return in_torch_1_13(dtype) && dtype_info(dtype).kind != DTypeKind::complex;
}

// A spelling the language accepts for a dtype: PyTorch's name, an alias (fp16, half, long, ...)
// or a safetensors code (BF16).
constexpr std::optional<DType> dtype_from_spelling(std::string_view spelling) {
  if (auto dtype = dtype_from_name(spelling)) return dtype;
  for (const auto& alias : kDTypeAliases)
    if (alias.spelling == spelling) return alias.dtype;
  return dtype_from_safetensors(spelling);
}

// Every spelling dtype_from_spelling accepts: the names, then the aliases, then the codes.
inline std::vector<std::string> dtype_spellings() {
  std::vector<std::string> spellings;
  for (const auto& entry : kDTypes) spellings.emplace_back(entry.name);
  for (const auto& alias : kDTypeAliases) spellings.emplace_back(alias.spelling);
  for (const auto& entry : kDTypes)
    if (!entry.safetensors.empty()) spellings.emplace_back(entry.safetensors);
  return spellings;
}

}  // namespace taxon
