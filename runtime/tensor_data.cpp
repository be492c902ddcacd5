#include "runtime/tensor_data.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

namespace taxon {

void StorageBlock::attach(std::shared_ptr<const void> file_owner, int fd, const uint8_t* file_start, const uint8_t* bytes,
                          std::size_t size) {
  data = bytes;
  nbytes = size;
  owner = std::move(file_owner);
  mapped = true;
  file_fd = fd;
  file_offset = static_cast<uint64_t>(bytes - file_start);
}

void StorageBlock::release() const {
  if (!mapped || nbytes == 0) return;
  // Only whole pages inside the block: a neighbour's bytes on a shared page stay.
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + nbytes) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

int64_t TensorData::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(shape[i], 1);
  return strides;
}

bool TensorData::is_contiguous() const {
  if (numel() <= 1) return true;
  int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && stride[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

std::string check_view(const TensorData& tensor) {
  if (tensor.stride.size() != tensor.shape.size())
    return fmt::format("{} strides for {} dimensions", tensor.stride.size(), tensor.shape.size());
  if (tensor.storage_offset < 0) return "a negative storage offset";
  constexpr int64_t kLimit = int64_t{1} << 50;  // no real tensor comes near; keeps the sums below from overflowing
  int64_t numel = 1, last = tensor.storage_offset;
  for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
    if (tensor.shape[i] < 0 || tensor.shape[i] > kLimit) return fmt::format("size {} in dimension {}", tensor.shape[i], i);
    if (tensor.stride[i] < 0 || tensor.stride[i] > kLimit) return fmt::format("stride {} in dimension {}", tensor.stride[i], i);
    if (tensor.shape[i] == 0) numel = 0;
    else if (numel > kLimit / tensor.shape[i]) return "more elements than any tensor holds";
    else numel *= tensor.shape[i];
  }
  if (numel == 0) return {};
  for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
    last += (tensor.shape[i] - 1) * tensor.stride[i];
    if (last > kLimit) return "a view larger than any storage";
  }
  std::size_t element = dtype_size(tensor.dtype);
  std::size_t available = tensor.storage ? tensor.storage->nbytes / element : 0;
  if (static_cast<uint64_t>(last) >= available)
    return fmt::format("it reads element {} of a storage that holds {}", last, available);
  return {};
}

const uint8_t* TensorData::contiguous_data() const {
  if (numel() == 0 || !is_contiguous()) return nullptr;
  return storage->data + static_cast<std::size_t>(storage_offset) * dtype_size(dtype);
}

void TensorData::for_each_chunk(const std::function<void(const uint8_t*, std::size_t)>& chunk) const {
  if (numel() == 0) return;
  if (const uint8_t* data = contiguous_data()) {
    chunk(data, nbytes());
    return;
  }
  std::size_t element = dtype_size(dtype);
  const uint8_t* base = storage->data + static_cast<std::size_t>(storage_offset) * element;
  // Walk the outer dimensions; the innermost run is contiguous when its stride is 1.
  std::size_t dims = shape.size();
  bool inner_run = dims > 0 && stride[dims - 1] == 1;
  std::size_t outer = inner_run ? dims - 1 : dims;
  std::size_t run = inner_run ? static_cast<std::size_t>(shape[dims - 1]) * element : element;
  std::vector<int64_t> index(outer, 0);
  while (true) {
    int64_t offset = 0;
    for (std::size_t i = 0; i < outer; ++i) offset += index[i] * stride[i];
    chunk(base + static_cast<std::size_t>(offset) * element, run);
    std::size_t d = outer;
    while (d > 0) {
      --d;
      if (++index[d] < shape[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (outer == 0) return;
  }
}

std::vector<uint8_t> TensorData::contiguous_bytes() const {
  std::vector<uint8_t> out;
  out.reserve(nbytes());
  for_each_chunk([&](const uint8_t* data, std::size_t size) { out.insert(out.end(), data, data + size); });
  return out;
}

bool TensorData::same_view(const TensorData& other) const {
  return storage == other.storage && storage_offset == other.storage_offset && shape == other.shape &&
         stride == other.stride && dtype == other.dtype;
}

}  // namespace taxon
