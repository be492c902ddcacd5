// PyTorch's torch.save formats: the zip archive (data.pkl + data/<key>
// records) and the legacy stream (pickles followed by raw storages).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "runtime/checkpoint.hpp"
#include "runtime/input_error.hpp"
#include "runtime/zip_archive.hpp"

namespace taxon {
namespace {

const PyTuple* as_tuple(const PyRef& value) { return value ? std::get_if<PyTuple>(&value->value) : nullptr; }

// ('storage', storage_class, key, location, numel[, view_metadata])
struct StorageId {
  DType dtype;
  std::string key;
  int64_t numel = 0;
  PyRef view;  // legacy only: None or (view_key, offset, size)
};

StorageId parse_storage_id(const PyRef& id, const std::string& context) {
  const PyTuple* tuple = as_tuple(id);
  auto fail = [&](const std::string& what) -> StorageId {
    throw InputError(code::corrupt_checkpoint, fmt::format("{}: a storage reference {}", context, what));
  };
  if (!tuple || tuple->items.size() < 5) return fail("is not ('storage', class, key, location, size)");
  const std::string* tag = as_string(tuple->items[0]);
  if (!tag || *tag != "storage") return fail(fmt::format("is tagged '{}', not 'storage'", tag ? *tag : "?"));
  const auto* cls = std::get_if<PyGlobal>(&tuple->items[1]->value);
  if (!cls) return fail("names no storage class");
  auto dtype = dtype_from_storage_class(cls->name);
  if (!dtype)
    throw InputError(code::unsupported_input,
                     fmt::format("{}: storage class {}.{} is not supported (quantized and untyped storages are not read)",
                                 context, cls->module, cls->name));
  StorageId out{*dtype, {}, 0, nullptr};
  if (const std::string* key = as_string(tuple->items[2])) out.key = *key;
  else if (const auto* number = std::get_if<int64_t>(&tuple->items[2]->value)) out.key = std::to_string(*number);
  else return fail("has no key");
  if (const auto* numel = std::get_if<int64_t>(&tuple->items[4]->value)) out.numel = *numel;
  if (tuple->items.size() > 5) out.view = tuple->items[5];
  return out;
}

bool is_tensor_map(const PyRef& value) {
  const PyDict* dict = as_dict(value);
  if (!dict) return false;
  for (const auto& [key, item] : dict->items)
    if (!as_string(key) || !as_tensor(item)) return false;
  return true;
}

bool holds_tensors(const PyRef& value) { return value && count_tensors(*value, 1) > 0; }

// A dict's entry, or an object's attribute (its BUILD state's entry: an EMA wrapper's `module`).
PyRef entry(const PyRef& value, std::string_view key) {
  const PyDict* dict = as_dict(value);
  if (const PyObject* object = as_object(value); object && !dict) dict = as_dict(object->state);
  if (!dict) return nullptr;
  for (const auto& [k, v] : dict->items)
    if (const std::string* name = as_string(k); name && *name == key) return v;
  return nullptr;
}

std::string describe_entries(const PyRef& root) {
  const PyDict* dict = as_dict(root);
  if (const PyObject* object = as_object(root); object && object->opaque && !dict) {
    const PyDict* state = as_dict(object->state);
    bool module = state && entry(root, "_parameters") && entry(root, "_modules");
    if (module)
      return fmt::format("the file holds a whole pickled model ({}), not a state dict; taxon does not run its code: save "
                         "model.state_dict() instead",
                         object->type);
    return fmt::format("the file holds a {} object, which taxon keeps but does not know", object->type);
  }
  if (!dict) return "the file holds a " + describe_type(root);
  std::vector<std::string> parts;
  for (const auto& [key, value] : dict->items) {
    const std::string* name = as_string(key);
    parts.push_back(fmt::format("{} ({})", name ? *name : "?", describe_type(value)));
    if (parts.size() == 12) {
      parts.push_back("...");
      break;
    }
  }
  return "top-level entries: " + fmt::format("{}", fmt::join(parts, ", "));
}

// Picks the state dict out of the unpickled root (in the order docs/checkpoints.md gives).
void locate_state_dict(Checkpoint& checkpoint, const ReadOptions& options) {
  PyRef found;
  std::vector<std::string> path;
  if (options.source) {
    PyRef at = checkpoint.root;
    std::string_view rest = *options.source;
    while (!rest.empty() && at) {
      std::size_t dot = rest.find('.');
      std::string key(rest.substr(0, dot));
      at = entry(at, key);
      path.push_back(key);
      rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    }
    if (!at || !is_tensor_map(at))
      throw InputError(code::no_state_dict,
                       fmt::format("{}: --source {} names no dict of tensors; {}", checkpoint.path, *options.source,
                                   describe_entries(checkpoint.root)));
    found = at;
  } else {
    for (const auto& key : options.source_order) {
      PyRef candidate = key.empty() ? checkpoint.root : entry(checkpoint.root, key);
      if (candidate && is_tensor_map(candidate)) {
        found = candidate;
        if (!key.empty()) path.push_back(key);
        break;
      }
    }
    if (!found)
      throw InputError(code::no_state_dict,
                       fmt::format("{}: found no state dict (a dict of tensors) under {}; {}; pass --source KEY", checkpoint.path,
                                   fmt::join(options.source_order, ", "), describe_entries(checkpoint.root)));
  }
  checkpoint.state_dict_path = path;
  for (const auto& [key, value] : as_dict(found)->items) {
    TensorData tensor = as_tensor(value)->tensor;
    std::string problem = check_view(tensor);
    if (!problem.empty())
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: tensor \"{}\" does not fit its storage: {}", checkpoint.path,
                                                             *as_string(key), problem));
    checkpoint.tensors.push_back({*as_string(key), std::move(tensor)});
  }
  if (const PyDict* root = as_dict(checkpoint.root); root && found != checkpoint.root)
    for (const auto& [key, value] : root->items)
      if (value != found && holds_tensors(value))
        if (const std::string* name = as_string(key)) checkpoint.other_tensor_entries.push_back(*name);
}

Checkpoint read_torch_zip(std::shared_ptr<const MappedFile> file, const ReadOptions& options) {
  ZipArchive archive(file);
  if (archive.find("constants.pkl") || archive.find("code/__torch__.py"))
    throw InputError(code::unsupported_input,
                     fmt::format("{}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save "
                                 "model.state_dict() with torch.save, or load the module through taxon's C++ API",
                                 file->path()));
  Checkpoint checkpoint;
  checkpoint.path = file->path();
  checkpoint.format = "torch zip";
  checkpoint.files.push_back(file);
  std::map<std::string, std::shared_ptr<StorageBlock>> storages;
  UnpickleOptions unpickle_options;
  unpickle_options.context = fmt::format("{} ({}/data.pkl)", file->path(), archive.prefix());
  unpickle_options.persistent_load = [&](const PyRef& id) -> PyRef {
    StorageId storage_id = parse_storage_id(id, unpickle_options.context);
    auto& storage = storages[storage_id.key];
    if (!storage) {
      std::string_view bytes = archive.read("data/" + storage_id.key);
      storage = std::make_shared<StorageBlock>();
      storage->key = storage_id.key;
      storage->dtype = storage_id.dtype;
      storage->attach(file, file->fd(), file->data(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      if (storage_id.numel < 0 || static_cast<uint64_t>(storage_id.numel) > bytes.size() / dtype_size(storage_id.dtype))
        throw InputError(code::corrupt_checkpoint,
                         fmt::format("{}: storage data/{} should hold {} elements but has {} bytes", file->path(),
                                     storage_id.key, storage_id.numel, bytes.size()));
    }
    return std::make_shared<PyValue>(PyValue{PyStorage{storage}, 1});
  };
  checkpoint.root = unpickle(archive.read("data.pkl", ZipArchive::Check::crc), unpickle_options);
  locate_state_dict(checkpoint, options);
  return checkpoint;
}

// The legacy stream: magic, protocol, sys_info, the object, the storage keys,
// then each storage as an 8-byte element count and its bytes.
Checkpoint read_torch_legacy(std::shared_ptr<const MappedFile> file, const ReadOptions& options) {
  Checkpoint checkpoint;
  checkpoint.path = file->path();
  checkpoint.format = "torch legacy";
  checkpoint.files.push_back(file);
  std::string_view all = file->view(0, file->size());
  std::size_t offset = 0;
  UnpickleOptions plain;
  plain.context = fmt::format("{} (legacy header)", file->path());
  auto next = [&](const UnpickleOptions& with) {
    std::size_t used = 0;
    PyRef value = unpickle(all.substr(offset), with, &used);
    offset += used;
    return value;
  };
  PyRef magic = next(plain);
  const auto* big = std::get_if<PyBigInt>(&magic->value);
  static constexpr unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (!big || big->bytes.size() != sizeof(kMagic) || std::memcmp(big->bytes.data(), kMagic, sizeof(kMagic)) != 0)
    throw InputError(code::unsupported_input, fmt::format("{}: a pickle, but not a PyTorch checkpoint (no torch.save magic number)",
                                                          file->path()));
  PyRef protocol = next(plain);
  const auto* version = std::get_if<int64_t>(&protocol->value);
  if (!version || *version != 1001)
    throw InputError(code::unsupported_input, fmt::format("{}: legacy protocol {} is not supported (1001 is)", file->path(),
                                                          version ? std::to_string(*version) : "?"));
  PyRef sys_info = next(plain);
  if (PyRef little = entry(sys_info, "little_endian"); little && std::holds_alternative<bool>(little->value) &&
                                                       !std::get<bool>(little->value))
    throw InputError(code::unsupported_input, fmt::format("{}: written on a big-endian machine; taxon reads little-endian data",
                                                          file->path()));

  std::map<std::string, std::shared_ptr<StorageBlock>> storages;
  struct View {
    std::shared_ptr<StorageBlock> block;
    std::string root;
    int64_t offset;
  };
  std::vector<View> views;
  UnpickleOptions with_storages;
  with_storages.context = fmt::format("{} (legacy object)", file->path());
  with_storages.persistent_load = [&](const PyRef& id) -> PyRef {
    StorageId storage_id = parse_storage_id(id, with_storages.context);
    auto& root = storages[storage_id.key];
    if (!root) {
      root = std::make_shared<StorageBlock>();
      root->key = storage_id.key;
      root->dtype = storage_id.dtype;
    }
    std::shared_ptr<StorageBlock> block = root;
    if (const PyTuple* view = as_tuple(storage_id.view); view && view->items.size() == 3) {
      block = std::make_shared<StorageBlock>(*root);
      const auto* view_offset = std::get_if<int64_t>(&view->items[1]->value);
      views.push_back({block, storage_id.key, view_offset ? *view_offset : 0});
    }
    return std::make_shared<PyValue>(PyValue{PyStorage{block}, 1});
  };
  checkpoint.root = next(with_storages);
  PyRef keys = next(plain);
  const auto* key_list = std::get_if<PyList>(&keys->value);
  if (!key_list) throw InputError(code::corrupt_checkpoint, fmt::format("{}: the legacy storage key list is missing", file->path()));
  std::set<std::string_view> listed;
  for (const auto& key_ref : key_list->items) {
    const std::string* key = as_string(key_ref);
    if (!key) throw InputError(code::corrupt_checkpoint, fmt::format("{}: a legacy storage key is not a string", file->path()));
    listed.insert(*key);
    auto found = storages.find(*key);
    if (found == storages.end())
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: storage {} is listed but never used", file->path(), *key));
    if (all.size() - offset < 8)
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: truncated before storage {} (byte {})", file->path(), *key, offset));
    int64_t numel = 0;
    std::memcpy(&numel, all.data() + offset, 8);
    offset += 8;
    if (numel < 0 || static_cast<uint64_t>(numel) > (all.size() - offset) / dtype_size(found->second->dtype))
      throw InputError(code::corrupt_checkpoint,
                       fmt::format("{}: storage {} claims {} elements, past the end of the file (byte {})", file->path(), *key,
                                   numel, offset));
    uint64_t bytes = static_cast<uint64_t>(numel) * dtype_size(found->second->dtype);
    found->second->attach(file, file->fd(), file->data(), reinterpret_cast<const uint8_t*>(all.data() + offset), bytes);
    offset += bytes;
  }
  for (auto& view : views) {
    const auto& root = storages[view.root];
    std::size_t skip = static_cast<std::size_t>(view.offset) * dtype_size(root->dtype);
    if (view.offset < 0 || skip > root->nbytes)
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: a storage view starts past its storage", file->path()));
    view.block->attach(file, file->fd(), file->data(), root->data + skip, root->nbytes - skip);
  }
  for (const auto& [key, storage] : storages)
    if (!listed.contains(key))
      throw InputError(code::corrupt_checkpoint, fmt::format("{}: storage {} is used but its data is missing", file->path(), key));
  locate_state_dict(checkpoint, options);
  return checkpoint;
}

}  // namespace

Checkpoint read_torch(const std::string& path, const ReadOptions& options) {
  auto file = MappedFile::open(path);
  if (ZipArchive::looks_like_zip(*file)) return read_torch_zip(file, options);
  if (file->size() >= 2 && file->data()[0] == 0x80) return read_torch_legacy(file, options);
  throw InputError(code::unsupported_input,
                   fmt::format("{}: neither a zip archive nor a pickle; not a torch.save checkpoint", path));
}

Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  if (fs::is_directory(path, ignored)) {
    // What transformers' from_pretrained loads from a directory, in its order.
    for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}) {
      fs::path file = fs::path(path) / name;
      if (fs::is_regular_file(file, ignored)) return read_checkpoint(file.string(), options);
    }
    throw InputError(code::unsupported_input,
                     fmt::format("{}: a directory without model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                                 "pytorch_model.bin.index.json; name a checkpoint file",
                                 path));
  }
  if (path.ends_with(".safetensors.index.json") || path.ends_with(".index.json")) return read_safetensors_sharded(path);
  if (path.ends_with(".safetensors")) return read_safetensors(path);
  return read_torch(path, options);
}

MergedCheckpoints read_merged_checkpoints(const std::vector<std::string>& paths, const ReadOptions& options) {
  MergedCheckpoints merged;
  for (const auto& path : paths) {
    merged.sources.push_back(read_checkpoint(path, options));
    TensorTable table = checkpoint_table(merged.sources.back());
    merged.table.store.keep(table.store);
    SourceLabel source = SourceLabel::of_input(merged.sources.size());
    merged.table.tensors.reserve(merged.table.tensors.size() + table.tensors.size());
    merged.origin.reserve(merged.origin.size() + table.tensors.size());
    for (std::size_t i = 0; i < table.tensors.size(); ++i) {
      table.tensors[i].tied_to.reset();  // every key of a checkpoint is its own entry in a plan
      table.tensors[i].source = source;
      merged.table.tensors.push_back(table.tensors[i]);
      merged.origin.emplace_back(merged.sources.size() - 1, i);
    }
  }
  return merged;
}

TensorTable checkpoint_table(const Checkpoint& checkpoint) {
  TensorTable table;
  table.model = fmt::format("checkpoint {}", checkpoint.path);
  table.has_unknown_kinds = true;
  // Ties are found per storage, so a checkpoint of 100k tensors is not compared pairwise.
  std::unordered_map<const StorageBlock*, std::vector<std::size_t>> viewing;
  table.tensors.reserve(checkpoint.tensors.size());
  for (std::size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const auto& tensor = checkpoint.tensors[i];
    TensorRecord record;
    record.name = table.text(tensor.name);
    record.shape = table.dims(tensor.data.shape);
    record.dtype = table.text(dtype_name(tensor.data.dtype));
    record.requires_grad = tensor.data.requires_grad;
    record.kind = TensorKind::unknown;
    auto& earlier = viewing[tensor.data.storage.get()];
    for (std::size_t j : earlier)
      if (tensor.data.numel() > 0 && tensor.data.same_view(checkpoint.tensors[j].data)) {
        record.tied_to = j;
        break;
      }
    earlier.push_back(i);
    table.tensors.push_back(std::move(record));
  }
  return table;
}

std::optional<std::string> common_wrapper_prefix(const Checkpoint& checkpoint) {
  if (checkpoint.tensors.empty()) return std::nullopt;
  for (const char* prefix : {"module.", "_orig_mod.", "model."}) {
    bool all = std::all_of(checkpoint.tensors.begin(), checkpoint.tensors.end(),
                           [&](const CheckpointTensor& t) { return t.name.starts_with(prefix); });
    if (all) return std::string(prefix);
  }
  return std::nullopt;
}

}  // namespace taxon
