// safetensors: an 8-byte little-endian header length, a JSON header, then the
// tensors' bytes. Everything the header claims is checked against the file.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "runtime/checkpoint.hpp"
#include "runtime/input_error.hpp"
#include "runtime/json_cursor.hpp"

namespace taxon {
namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // safetensors' own limit

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw InputError(code::corrupt_checkpoint, fmt::format("{}: not a valid safetensors file: {}", path, what));
}

// A header's list of sizes or offsets: the elements that are integers >= 0, how many elements
// there were, and whether every one was such an integer (the rest of the list is still read).
struct Integers {
  std::vector<int64_t> values;
  std::size_t count = 0;
  bool all_valid = true;
};

Integers read_integers(JsonCursor& cursor) {
  Integers out;
  while (cursor.next_element()) {
    ++out.count;
    int64_t value = 0;
    auto read = cursor.integer(value);
    if (read == JsonCursor::Integer::not_number) cursor.skip();
    if (read == JsonCursor::Integer::read && value >= 0) out.values.push_back(value);
    else out.all_valid = false;
  }
  return out;
}

}  // namespace

Checkpoint read_safetensors(const std::string& path) {
  auto file = MappedFile::open(path);
  Checkpoint checkpoint;
  checkpoint.path = path;
  checkpoint.format = "safetensors";
  checkpoint.files.push_back(file);
  if (file->size() < 8) corrupt(path, fmt::format("{} bytes is too short for the 8-byte header length", file->size()));
  uint64_t header_length = 0;
  std::memcpy(&header_length, file->data(), 8);
  if (header_length > kMaxHeader)
    corrupt(path, fmt::format("the header claims {} bytes; safetensors headers are at most {} bytes", header_length, kMaxHeader));
  if (header_length > file->size() - 8)
    corrupt(path, fmt::format("the header claims {} bytes but the file has {} after the length", header_length,
                              file->size() - 8));
  uint64_t data_start = 8 + header_length;
  uint64_t data_size = file->size() - data_start;

  // The header is read in one pass by the JSON cursor, with no document tree: a header of 100k
  // tensors would otherwise cost ~130 MB of parser buffers. A problem with an entry is reported
  // only once the whole header is known to be JSON (as a tree's reader would have found first).
  std::string_view header = file->view(8, header_length);
  auto not_json = [&](const JsonSyntaxError& error) {
    corrupt(path, fmt::format("the header is not a JSON object ({} at byte {} of the header)", error.what(), error.offset()));
  };
  auto invalid = [&](const std::string& what) {
    try {
      JsonCursor::validate(header);
    } catch (const JsonSyntaxError& error) {
      not_json(error);
    }
    corrupt(path, what);
  };
  struct Span {
    uint64_t begin, end;
    std::size_t tensor;  // in checkpoint.tensors
  };
  std::vector<Span> spans;
  std::set<std::string, std::less<>> seen;
  try {
    JsonCursor cursor(header);
    if (!cursor.begin_object()) invalid("the header is not a JSON object");
    std::string_view key, field, text;
    std::string key_buffer, field_buffer, text_buffer;
    while (cursor.next_key(key, key_buffer)) {
      if (!seen.emplace(key).second) invalid(fmt::format("\"{}\" appears twice in the header", key));
      if (key == "__metadata__") {
        if (!cursor.begin_object()) invalid("__metadata__ must map strings to strings");
        while (cursor.next_key(field, field_buffer)) {
          if (!cursor.string(text, text_buffer)) invalid(fmt::format("__metadata__.{} is not a string", field));
          checkpoint.metadata.emplace_back(std::string(field), std::string(text));
        }
        continue;
      }
      std::string name(key);
      std::optional<std::string> dtype_code;
      std::optional<Integers> shape, offsets;  // from the first of each key that holds a list
      if (!cursor.begin_object()) {
        cursor.skip();
      } else {
        while (cursor.next_key(field, field_buffer)) {
          if (field == "dtype" && !dtype_code && cursor.string(text, text_buffer)) dtype_code = std::string(text);
          else if (field == "shape" && !shape && cursor.begin_array()) shape = read_integers(cursor);
          else if (field == "data_offsets" && !offsets && cursor.begin_array()) offsets = read_integers(cursor);
          else cursor.skip();
        }
      }
      if (!dtype_code) invalid(fmt::format("tensor \"{}\" has no dtype", name));
      auto dtype = dtype_from_safetensors(*dtype_code);
      if (!dtype)
        throw InputError(code::unsupported_input,
                         fmt::format("{}: tensor \"{}\" has dtype \"{}\", which taxon does not know", path, name, *dtype_code));
      if (!shape) invalid(fmt::format("tensor \"{}\" has no shape", name));
      if (!offsets || offsets->count != 2) invalid(fmt::format("tensor \"{}\" needs data_offsets [begin, end]", name));
      TensorData tensor;
      tensor.dtype = *dtype;
      uint64_t numel = 1;
      if (!shape->all_valid) invalid(fmt::format("tensor \"{}\" has a negative or non-integer size", name));
      for (int64_t size : shape->values) {
        tensor.shape.push_back(size);
        if (size != 0 && numel > (uint64_t{1} << 62) / static_cast<uint64_t>(size))
          invalid(fmt::format("tensor \"{}\" is impossibly large", name));
        numel *= static_cast<uint64_t>(size);
      }
      if (!offsets->all_valid) invalid(fmt::format("tensor \"{}\" has non-integer data_offsets", name));
      auto begin = static_cast<uint64_t>(offsets->values[0]), end = static_cast<uint64_t>(offsets->values[1]);
      if (begin > end) invalid(fmt::format("tensor \"{}\" ends (byte {}) before it begins (byte {})", name, end, begin));
      if (end > data_size)
        invalid(fmt::format("tensor \"{}\" ends at byte {} of the data, past its end ({} bytes)", name, end, data_size));
      if (end - begin != numel * dtype_size(*dtype))
        invalid(fmt::format("tensor \"{}\" holds {} bytes, but {} {} elements need {}", name, end - begin, numel,
                            *dtype_code, numel * dtype_size(*dtype)));
      auto storage = std::make_shared<StorageBlock>();  // no key: a safetensors tensor is its own storage
      storage->dtype = *dtype;
      storage->attach(file, file->fd(), file->data(), file->data() + data_start + begin, end - begin);
      tensor.storage = std::move(storage);
      tensor.stride = contiguous_strides(tensor.shape);
      spans.push_back({begin, end, checkpoint.tensors.size()});
      checkpoint.tensors.push_back({std::move(name), std::move(tensor)});
    }
    cursor.finish();
  } catch (const JsonSyntaxError& error) {
    not_json(error);
  }
  // The data is exactly the tensors, back to back: no overlap, no hole.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t expected = 0;
  for (const auto& span : spans) {
    if (span.begin < expected)
      corrupt(path, fmt::format("tensor \"{}\" overlaps the tensor before it", checkpoint.tensors[span.tensor].name));
    if (span.begin > expected) corrupt(path, fmt::format("bytes {} to {} of the data belong to no tensor", expected, span.begin));
    expected = span.end;
  }
  if (expected != data_size)
    corrupt(path, fmt::format("the last {} bytes of the data belong to no tensor", data_size - expected));
  return checkpoint;
}

namespace {

// An index's "weight_map" as (tensor, shard file) pairs, in the order written (a name written
// twice stays twice: the caller refuses it). The whole text is checked to be JSON first, so that
// a broken file is reported as such, with its line and column.
std::vector<std::pair<std::string, std::string>> read_weight_map(const std::string& index_path) {
  auto index_file = MappedFile::open(index_path);
  std::string_view text = index_file->view(0, index_file->size());
  try {
    JsonCursor::validate(text);
  } catch (const JsonSyntaxError& error) {
    auto [line, column] = position_in(text, error.offset());
    throw InputError(code::corrupt_checkpoint,
                     fmt::format("{}:{}:{}: a sharded checkpoint's index is not valid JSON ({})", index_path, line, column, error.what()));
  }
  auto needs_weight_map = [&] {
    return InputError(code::corrupt_checkpoint,
                      fmt::format("{}: a sharded checkpoint's index needs \"weight_map\": {{tensor: shard file}}", index_path));
  };
  std::vector<std::pair<std::string, std::string>> entries;
  JsonCursor cursor(text);
  std::string_view key, shard;
  std::string key_scratch, value_scratch;
  bool found = false;
  if (!cursor.begin_object()) throw needs_weight_map();
  while (cursor.next_key(key, key_scratch)) {
    if (key != "weight_map" || found) {  // the first of two is read, as a JSON reader's lookup would
      cursor.skip();
      continue;
    }
    if (!cursor.begin_object()) throw needs_weight_map();
    found = true;
    while (cursor.next_key(key, key_scratch)) {
      std::string name(key);
      if (!cursor.string(shard, value_scratch))
        throw InputError(code::corrupt_checkpoint, fmt::format("{}: weight_map.{} is not a file name", index_path, name));
      entries.emplace_back(std::move(name), shard);
    }
  }
  if (!found) throw needs_weight_map();
  return entries;
}

}  // namespace

// Hugging Face's sharded checkpoints: an index ({"weight_map": {tensor: shard file}}) beside
// safetensors shards (model.safetensors.index.json) or torch.save shards, each an OrderedDict
// state dict (pytorch_model.bin.index.json). Every shard must hold exactly what the index places
// in it.
Checkpoint read_safetensors_sharded(const std::string& index_path) {
  std::vector<std::string> shards;
  std::set<std::string, std::less<>> shard_set;
  std::unordered_map<std::string, std::string> shard_of;
  for (auto& [name, shard] : read_weight_map(index_path)) {
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: shard \"{}\" is not a file next to the index", index_path, shard));
    if (shard_set.emplace(shard).second) shards.push_back(shard);
    if (!shard_of.emplace(name, std::move(shard)).second)
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: \"{}\" appears twice in weight_map", index_path, name));
  }
  std::sort(shards.begin(), shards.end());
  std::size_t safetensors_shards = 0;
  for (const auto& shard : shards) safetensors_shards += shard.ends_with(".safetensors");
  if (safetensors_shards != 0 && safetensors_shards != shards.size())
    throw InputError(code::unsupported_input,
                     fmt::format("{}: the index names safetensors and torch shards together; a checkpoint is one or the other",
                                 index_path));
  const bool torch = shards.empty() ? !index_path.ends_with(".safetensors.index.json") : safetensors_shards == 0;
  Checkpoint checkpoint;
  checkpoint.path = index_path;
  checkpoint.format = torch ? "torch (sharded)" : "safetensors (sharded)";
  std::unordered_set<std::string_view> loaded;
  std::filesystem::path directory = std::filesystem::path(index_path).parent_path();
  ReadOptions state_dict_at_root;  // a Hugging Face .bin shard is the state dict itself
  state_dict_at_root.source_order = {""};
  for (const auto& shard : shards) {
    std::string shard_path = (directory / shard).string();
    Checkpoint part = torch ? read_torch(shard_path, state_dict_at_root) : read_safetensors(shard_path);
    for (auto& tensor : part.tensors) {
      auto expected = shard_of.find(tensor.name);
      if (expected == shard_of.end() || expected->second != shard)
        throw InputError(code::corrupt_checkpoint, fmt::format("{}: {} holds \"{}\", which the index places {}", index_path, shard,
                                                               tensor.name,
                                                               expected == shard_of.end() ? "nowhere" : "in " + expected->second));
      if (!loaded.insert(expected->first).second)
        throw InputError(code::corrupt_checkpoint,
                         fmt::format("{}: {} holds \"{}\" twice", index_path, shard, tensor.name));
      checkpoint.tensors.push_back(std::move(tensor));
    }
    if (checkpoint.metadata.empty()) checkpoint.metadata = part.metadata;
    checkpoint.files.insert(checkpoint.files.end(), part.files.begin(), part.files.end());
  }
  if (loaded.size() != shard_of.size()) {
    std::vector<std::pair<std::string_view, std::string_view>> absent;  // reported in name order
    for (const auto& [name, shard] : shard_of)
      if (!loaded.contains(name)) absent.emplace_back(name, shard);
    std::sort(absent.begin(), absent.end());
    throw InputError(code::corrupt_checkpoint,
                     fmt::format("{}: the index places \"{}\" in {}, which does not hold it", index_path, absent.front().first,
                                 absent.front().second));
  }
  return checkpoint;
}

}  // namespace taxon
