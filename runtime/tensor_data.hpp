// Tensors as a checkpoint holds them: a dtype, a shape and strides over a
// storage block that lives in a mapped file (or in memory). No LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/dtype.hpp"

namespace taxon {

// One storage: the bytes several tensors may view (a tie, a slice).
struct StorageBlock {
  std::string key;  // the zip record data/<key>, or the legacy storage key; empty for safetensors
  DType dtype = DType::float32;
  const uint8_t* data = nullptr;
  std::size_t nbytes = 0;
  std::shared_ptr<const void> owner;  // keeps `data` alive (a mapped file or owned bytes)
  bool mapped = false;                // `data` points into a read-only file mapping
  int file_fd = -1;                   // that file, when mapped (for in-kernel copies)
  uint64_t file_offset = 0;           // where `data` starts in it

  // Points the block at `size` bytes of a mapped file starting at `data`.
  void attach(std::shared_ptr<const void> file_owner, int fd, const uint8_t* file_start, const uint8_t* bytes, std::size_t size);

  // Drops the pages of a mapped storage from this process's memory once
  // they are written out (the file stays in the page cache); no-op otherwise.
  void release() const;
};

struct TensorData {
  DType dtype = DType::float32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // in elements
  int64_t storage_offset = 0;   // in elements
  std::shared_ptr<StorageBlock> storage;
  bool requires_grad = false;

  int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  // Where the elements start in the storage when they lie there in row-major order (a contiguous
  // view); null otherwise, and for an empty tensor.
  const uint8_t* contiguous_data() const;
  // Calls `chunk` with the elements' bytes in row-major order, in as few
  // contiguous pieces as the strides allow.
  void for_each_chunk(const std::function<void(const uint8_t*, std::size_t)>& chunk) const;
  std::vector<uint8_t> contiguous_bytes() const;
  // True when both view the same bytes the same way (a tie).
  bool same_view(const TensorData& other) const;
};

// Row-major strides for a shape.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

// Empty when the view fits its storage; otherwise what is wrong.
std::string check_view(const TensorData& tensor);

}  // namespace taxon
