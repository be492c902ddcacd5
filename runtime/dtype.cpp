#include "runtime/dtype.hpp"

#include <array>

namespace taxon {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
  std::string_view safetensors;  // empty: none
  std::string_view storage_class;
};

constexpr std::array<DTypeInfo, 17> kDTypes{{
    {DType::float64, "float64", 8, "F64", "DoubleStorage"},
    {DType::float32, "float32", 4, "F32", "FloatStorage"},
    {DType::float16, "float16", 2, "F16", "HalfStorage"},
    {DType::bfloat16, "bfloat16", 2, "BF16", "BFloat16Storage"},
    {DType::float8_e4m3fn, "float8_e4m3fn", 1, "F8_E4M3", "Float8_e4m3fnStorage"},
    {DType::float8_e5m2, "float8_e5m2", 1, "F8_E5M2", "Float8_e5m2Storage"},
    {DType::complex64, "complex64", 8, "C64", "ComplexFloatStorage"},
    {DType::complex128, "complex128", 16, "", "ComplexDoubleStorage"},
    {DType::int64, "int64", 8, "I64", "LongStorage"},
    {DType::int32, "int32", 4, "I32", "IntStorage"},
    {DType::int16, "int16", 2, "I16", "ShortStorage"},
    {DType::int8, "int8", 1, "I8", "CharStorage"},
    {DType::uint8, "uint8", 1, "U8", "ByteStorage"},
    {DType::uint16, "uint16", 2, "U16", "UInt16Storage"},
    {DType::uint32, "uint32", 4, "U32", "UInt32Storage"},
    {DType::uint64, "uint64", 8, "U64", "UInt64Storage"},
    {DType::bool_, "bool", 1, "BOOL", "BoolStorage"},
}};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : kDTypes)
    if (entry.dtype == dtype) return entry;
  return kDTypes[1];
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::size_t dtype_size(DType dtype) { return info(dtype).size; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kDTypes)
    if (entry.name == name) return entry.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_safetensors(std::string_view code) {
  for (const auto& entry : kDTypes)
    if (!entry.safetensors.empty() && entry.safetensors == code) return entry.dtype;
  return std::nullopt;
}

std::optional<std::string_view> safetensors_code(DType dtype) {
  const auto& entry = info(dtype);
  if (entry.safetensors.empty()) return std::nullopt;
  return entry.safetensors;
}

std::optional<DType> dtype_from_storage_class(std::string_view class_name) {
  for (const auto& entry : kDTypes)
    if (entry.storage_class == class_name) return entry.dtype;
  return std::nullopt;
}

}  // namespace taxon
