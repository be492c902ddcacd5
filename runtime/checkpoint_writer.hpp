// Writers. Outputs are atomic (AtomicFile): whole or absent.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor_data.hpp"

namespace taxon {

struct OutputTensor {
  std::string name;
  const TensorData* data = nullptr;
};

// Called as bytes are written: (bytes done, bytes in all).
using WriteProgress = std::function<void(uint64_t, uint64_t)>;

// safetensors: header in the given order, `metadata` as __metadata__, then
// each tensor's elements row-major. Throws InputError for a dtype safetensors
// cannot hold (complex128) or an unwritable path.
void write_safetensors(const std::string& path, const std::vector<OutputTensor>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata, const WriteProgress& progress = {});

}  // namespace taxon
