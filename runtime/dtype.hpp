// Tensor element types, named as PyTorch names them (without "torch."), with
// their safetensors codes and sizes. Nothing here needs LibTorch: reading,
// copying and renaming work for every dtype, float8 included.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace taxon {

enum class DType {
  float64, float32, float16, bfloat16, float8_e4m3fn, float8_e5m2, complex64, complex128,
  int64, int32, int16, int8, uint8, uint16, uint32, uint64, bool_
};

std::string_view dtype_name(DType dtype);            // "float32"
std::size_t dtype_size(DType dtype);                 // bytes per element
std::optional<DType> dtype_from_name(std::string_view name);
std::optional<DType> dtype_from_safetensors(std::string_view code);  // "F32" -> float32
std::optional<std::string_view> safetensors_code(DType dtype);       // nullopt: safetensors cannot hold it
// torch.FloatStorage and friends -> their element type.
std::optional<DType> dtype_from_storage_class(std::string_view class_name);

}  // namespace taxon
