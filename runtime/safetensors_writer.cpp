#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"

namespace taxon {

void write_safetensors(const std::string& path, const std::vector<OutputTensor>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata, const WriteProgress& progress) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    auto code = safetensors_code(tensor.data->dtype);
    if (!code)
      throw InputError(code::unsupported_input,
                       fmt::format("{}: tensor \"{}\" is {}, which safetensors cannot hold; write .pt instead", path,
                                   tensor.name, dtype_name(tensor.data->dtype)));
    uint64_t size = tensor.data->nbytes();
    header[tensor.name] = {{"dtype", std::string(*code)}, {"shape", tensor.data->shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t length = text.size();

  AtomicFile file(path);
  file.write(&length, 8);  // little-endian, as on every host taxon targets
  file.write(text);
  uint64_t done = 0;
  for (const auto& tensor : tensors) {
    const StorageBlock& storage = *tensor.data->storage;
    if (tensor.data->is_contiguous() && storage.mapped) {
      std::size_t offset = static_cast<std::size_t>(tensor.data->storage_offset) * dtype_size(tensor.data->dtype);
      file.copy_from(storage.file_fd, storage.file_offset + offset, storage.data + offset, tensor.data->nbytes());
    } else {
      tensor.data->for_each_chunk([&](const uint8_t* bytes, std::size_t size) { file.write(bytes, size); });
    }
    tensor.data->storage->release();  // peak memory stays near the largest tensor, not the checkpoint
    done += tensor.data->nbytes();
    if (progress) progress(done, offset);
  }
  file.commit();
}

}  // namespace taxon
