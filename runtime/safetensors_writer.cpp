// safetensors: an 8-byte little-endian header length, the JSON header padded with spaces to a
// multiple of 8, then each tensor's elements row-major. The header is streamed, twice: once to
// check it and count its bytes (before the file is opened), once into the file. No JSON object is
// built (nlohmann's ordered_json searched its keys on every insert: 100k tensors took 5e9
// compares), and no header string either (a 40 MB string is 10,000 fresh pages to fault in).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"
#include "runtime/json_string.hpp"

namespace taxon {
namespace {

using Metadata = std::vector<std::pair<std::string_view, std::string_view>>;

// Where the header goes: counted, or written to the file through a small buffer.
struct CountingSink {
  uint64_t size = 0;
  void operator+=(char) { ++size; }
  void operator+=(const char* text) { size += std::strlen(text); }
  void append(const char*, std::size_t n) { size += n; }
};

struct FileSink {
  AtomicFile& file;
  std::string buffer;
  explicit FileSink(AtomicFile& f) : file(f) { buffer.reserve(kFlush + 256); }
  void operator+=(char c) {
    buffer += c;
    if (buffer.size() >= kFlush) flush();
  }
  void operator+=(const char* text) { append(text, std::strlen(text)); }
  void append(const char* text, std::size_t n) {
    buffer.append(text, n);
    if (buffer.size() >= kFlush) flush();
  }
  void flush() {
    file.write(buffer);
    buffer.clear();
  }
  static constexpr std::size_t kFlush = 64 << 10;
};

template <typename Sink, typename Int>
void append_int(Sink& out, Int value) {
  fmt::format_int text(value);
  out.append(text.data(), text.size());
}

// __metadata__ as nlohmann::ordered_json built it before: a key given twice keeps its first
// place and takes its last value.
Metadata merged_metadata(const std::vector<std::pair<std::string, std::string>>& metadata) {
  Metadata entries;
  std::unordered_map<std::string_view, std::size_t> position;
  for (const auto& [key, value] : metadata) {
    auto [it, inserted] = position.emplace(key, entries.size());
    if (inserted) entries.emplace_back(key, value);
    else entries[it->second].second = value;
  }
  return entries;
}

// The header exactly as nlohmann's dump() wrote it (no spaces; __metadata__ first, then the
// tensors in order, each {"dtype", "shape", "data_offsets"}). Returns the tensor whose name, or
// the metadata entry whose text, is not UTF-8 (-1 for metadata), or nothing.
template <typename Sink>
std::optional<std::ptrdiff_t> emit_header(Sink& out, const std::vector<OutputTensor>& tensors, const Metadata& metadata) {
  out += '{';
  if (!metadata.empty()) {
    out += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i) out += ',';
      if (!append_json_string(out, metadata[i].first)) return -1;
      out += ':';
      if (!append_json_string(out, metadata[i].second)) return -1;
    }
    out += '}';
  }
  uint64_t offset = 0;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const TensorData& data = *tensors[t].data;
    if (t || !metadata.empty()) out += ',';
    if (!append_json_string(out, tensors[t].name)) return static_cast<std::ptrdiff_t>(t);
    out += ":{\"dtype\":\"";
    out += safetensors_code(data.dtype).value_or("").data();
    out += "\",\"shape\":[";
    for (std::size_t d = 0; d < data.shape.size(); ++d) {
      if (d) out += ',';
      append_int(out, data.shape[d]);
    }
    uint64_t size = data.nbytes();
    out += "],\"data_offsets\":[";
    append_int(out, offset);
    out += ',';
    append_int(out, offset + size);
    out += "]}";
    offset += size;
  }
  out += '}';
  return std::nullopt;
}

// A name two tensors share, if any. Sorting (hash, index) pairs rather than filling a hash set
// keeps 400k names from costing a cache miss and an allocation each.
std::optional<std::string_view> duplicate_name(const std::vector<OutputTensor>& tensors) {
  std::vector<std::pair<std::size_t, std::size_t>> hashes(tensors.size());
  std::hash<std::string_view> hash;
  for (std::size_t i = 0; i < tensors.size(); ++i) hashes[i] = {hash(tensors[i].name), i};
  std::sort(hashes.begin(), hashes.end());
  for (std::size_t k = 1; k < hashes.size(); ++k)
    for (std::size_t j = k; j-- > 0 && hashes[j].first == hashes[k].first;)
      if (tensors[hashes[j].second].name == tensors[hashes[k].second].name) return tensors[hashes[k].second].name;
  return std::nullopt;
}

// Everything that can be wrong with the header, found before the file is opened; its length
// (before padding) when nothing is.
uint64_t checked_header_length(const std::string& path, const std::vector<OutputTensor>& tensors, const Metadata& metadata) {
  for (const auto& tensor : tensors) {
    if (!safetensors_code(tensor.data->dtype))
      throw InputError(code::unsupported_input,
                       fmt::format("{}: tensor \"{}\" is {}, which safetensors cannot hold; write .pt instead", path,
                                   tensor.name, dtype_name(tensor.data->dtype)));
    if (tensor.name == "__metadata__")
      throw InputError(code::unsupported_input,
                       fmt::format("{}: a tensor is named \"__metadata__\", which a safetensors header keeps for its metadata",
                                   path));
  }
  CountingSink counted;
  if (auto bad = emit_header(counted, tensors, metadata))
    throw InputError(code::unsupported_input,
                     fmt::format("{}: {} is not valid UTF-8, which a safetensors header must be", path,
                                 *bad < 0 ? std::string("the metadata") : fmt::format("tensor #{}'s name", *bad + 1)));
  if (auto twice = duplicate_name(tensors))
    throw InputError(code::unsupported_input,
                     fmt::format("{}: tensor \"{}\" appears twice; a safetensors header holds each name once", path, *twice));
  return counted.size;
}

void write_checked(AtomicFile& file, uint64_t length, const std::vector<OutputTensor>& tensors, const Metadata& metadata,
                   const WriteProgress& progress) {
  uint64_t padded = length + (8 - length % 8) % 8;  // spaces up to a multiple of 8, as safetensors pads
  file.write(&padded, 8);                           // little-endian, as on every host taxon targets
  FileSink sink(file);
  emit_header(sink, tensors, metadata);
  for (uint64_t i = length; i < padded; ++i) sink += ' ';
  sink.flush();
  uint64_t total = 0;
  for (const auto& tensor : tensors) total += tensor.data->nbytes();
  uint64_t done = 0;
  for (const auto& tensor : tensors) {
    const StorageBlock& storage = *tensor.data->storage;
    const uint8_t* contiguous = tensor.data->contiguous_data();
    if (contiguous && storage.mapped) {
      std::size_t offset = static_cast<std::size_t>(contiguous - storage.data);
      file.copy_from(storage.file_fd, storage.file_offset + offset, contiguous, tensor.data->nbytes());
    } else {
      tensor.data->for_each_chunk([&](const uint8_t* bytes, std::size_t size) { file.write(bytes, size); });
    }
    tensor.data->storage->release();  // peak memory stays near the largest tensor, not the checkpoint
    done += tensor.data->nbytes();
    if (progress) progress(done, total);
  }
}

}  // namespace

void write_safetensors_into(AtomicFile& file, const std::vector<OutputTensor>& tensors,
                            const std::vector<std::pair<std::string, std::string>>& metadata, const WriteProgress& progress) {
  Metadata entries = merged_metadata(metadata);
  uint64_t length = checked_header_length(file.path(), tensors, entries);
  write_checked(file, length, tensors, entries, progress);
}

void write_safetensors(const std::string& path, const std::vector<OutputTensor>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata, const WriteProgress& progress) {
  Metadata entries = merged_metadata(metadata);
  uint64_t length = checked_header_length(path, tensors, entries);  // before the file is opened
  AtomicFile file(path);
  write_checked(file, length, tensors, entries, progress);
  file.commit();
}

}  // namespace taxon
