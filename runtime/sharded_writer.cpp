// Sharded outputs in Hugging Face's layout: shards named `stem-00001-of-0000N.ext`, split as
// huggingface_hub's split_state_dict_into_shards_factory splits (tests/data/sharding/ holds its
// own answers for synthetic cases), and the index transformers' save_pretrained writes. All
// files appear together or not at all (AtomicFileSet).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"
#include "runtime/json_string.hpp"

namespace taxon {
namespace fs = std::filesystem;
namespace {

bool is_safetensors(std::string_view file_name) { return file_name.ends_with(".safetensors"); }

// Takes a run of five or more digits from the front of `text`.
bool take_shard_number(std::string_view& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  text.remove_prefix(digits);
  return digits >= 5;
}

// "-NNNNN-of-NNNNN", five digits or more each: the middle of a shard's file name.
bool is_shard_numbering(std::string_view text) {
  if (!text.starts_with('-')) return false;
  text.remove_prefix(1);
  if (!take_shard_number(text) || !text.starts_with("-of-")) return false;
  text.remove_prefix(4);
  return take_shard_number(text) && text.empty();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Removes what it staged torch shards in, once they have been renamed out (or removed).
struct StagingDirectory {
  std::string path;
  ~StagingDirectory() {
    if (!path.empty()) ::rmdir(path.c_str());
  }
};

}  // namespace

uint64_t parse_shard_size(std::string_view text) {
  std::string_view size = trim(text);
  auto refuse = [&](const std::string& why) {
    return InputError(code::usage,
                      fmt::format("maximum shard size \"{}\": {}; write a number of bytes, or a number and a unit: KB, MB, "
                                  "GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 5GB or 500MiB",
                                  text, why));
  };
  std::size_t unit_start = size.size();
  while (unit_start > 0 && std::isalpha(static_cast<unsigned char>(size[unit_start - 1]))) --unit_start;
  std::string unit = lower(size.substr(unit_start));
  std::string_view number = trim(size.substr(0, unit_start));
  static const std::vector<std::pair<std::string_view, uint64_t>> kDecimal{
      {"kb", 1000ull}, {"mb", 1000000ull}, {"gb", 1000000000ull}, {"tb", 1000000000000ull}};
  static const std::vector<std::pair<std::string_view, uint64_t>> kBinary{
      {"kib", 1ull << 10}, {"mib", 1ull << 20}, {"gib", 1ull << 30}, {"tib", 1ull << 40}};
  uint64_t multiplier = 0;
  for (const auto& [name, factor] : kDecimal)
    if (unit == name) multiplier = factor;
  for (const auto& [name, factor] : kBinary)
    if (unit == name) multiplier = factor;
  bool bytes = unit.empty() || unit == "b";
  if (!bytes && multiplier == 0) throw refuse(fmt::format("\"{}\" is not a unit", size.substr(unit_start)));
  if (number.empty()) throw refuse("no number");
  std::size_t digits = 0, dots = 0;
  for (char c : number) {
    if (std::isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (c == '.') ++dots;
    else throw refuse(fmt::format("\"{}\" is not a decimal number", number));
  }
  if (digits == 0 || dots > 1) throw refuse(fmt::format("\"{}\" is not a decimal number", number));
  uint64_t result = 0;
  if (bytes) {
    if (dots) throw refuse("a number of bytes is a whole number");
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), result);
    if (error != std::errc() || end != number.data() + number.size()) throw refuse("too large");
  } else {
    // huggingface_hub: int(float(number) * multiplier), in doubles (correctly rounded, as strtod is).
    double value = 0;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (error != std::errc() || end != number.data() + number.size()) throw refuse("too large");
    double product = value * static_cast<double>(multiplier);
    if (!(product < 18446744073709551616.0)) throw refuse("too large");
    result = static_cast<uint64_t>(product);
  }
  if (result == 0) throw refuse("a shard must hold more than 0 bytes");
  return result;
}

std::string shard_file_name(const std::string& file_name, std::size_t shard, std::size_t count) {
  // transformers: weights_name.replace(".safetensors", "{suffix}.safetensors"), likewise ".bin": the
  // suffix goes before the extension (a variant's "model.fp16.safetensors" gives "model.fp16-00001-of-...").
  std::size_t dot = file_name.rfind('.');
  if (dot == std::string::npos || dot == 0) dot = file_name.size();
  return fmt::format("{}-{:05d}-of-{:05d}{}", file_name.substr(0, dot), shard, count, file_name.substr(dot));
}

ShardPlan plan_shards(const std::string& file_name, uint64_t max_shard_bytes, const std::vector<OutputTensor>& tensors) {
  const bool storages = !is_safetensors(file_name);
  // huggingface_hub's split_state_dict_into_shards_factory, step by step.
  std::vector<std::vector<std::size_t>> shards;
  std::vector<std::size_t> current;
  uint64_t current_size = 0, total = 0;
  std::unordered_map<const StorageBlock*, std::size_t> group_of;  // storage -> its group
  std::vector<std::vector<std::size_t>> groups;                   // tensors sharing a storage, first one first
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorData& data = *tensors[i].data;
    uint64_t size = data.nbytes();
    if (storages && data.storage) {
      auto [it, inserted] = group_of.emplace(data.storage.get(), groups.size());
      if (!inserted) {  // placed with the first tensor of its storage, below
        groups[it->second].push_back(i);
        continue;
      }
      groups.push_back({i});
      size = data.storage->nbytes;
    }
    if (size > max_shard_bytes) {  // its own shard, before the one being filled
      total += size;
      shards.push_back({i});
      continue;
    }
    if (current_size + size > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += size;
    total += size;
  }
  if (!current.empty()) shards.push_back(std::move(current));
  if (!groups.empty()) {
    std::vector<std::size_t> shard_of(tensors.size(), 0);
    for (std::size_t s = 0; s < shards.size(); ++s)
      for (std::size_t i : shards[s]) shard_of[i] = s;
    for (const auto& group : groups)
      for (std::size_t k = 1; k < group.size(); ++k) shards[shard_of[group.front()]].push_back(group[k]);
  }
  ShardPlan plan;
  plan.total_size = total;
  if (shards.size() <= 1) {  // one file, the plain name, every tensor in the order given
    plan.files.push_back(file_name);
    plan.tensors.emplace_back();
    for (std::size_t i = 0; i < tensors.size(); ++i) plan.tensors.back().push_back(i);
    return plan;
  }
  for (std::size_t s = 0; s < shards.size(); ++s) plan.files.push_back(shard_file_name(file_name, s + 1, shards.size()));
  plan.tensors = std::move(shards);
  return plan;
}

std::string shard_index_json(const std::string& path, const ShardPlan& plan, const std::vector<OutputTensor>& tensors) {
  std::vector<std::pair<std::string_view, std::size_t>> entries;  // tensor name, shard
  entries.reserve(tensors.size());
  for (std::size_t s = 0; s < plan.files.size(); ++s)
    for (std::size_t i : plan.tensors[s]) entries.emplace_back(tensors[i].name, s);
  std::sort(entries.begin(), entries.end());
  for (std::size_t k = 1; k < entries.size(); ++k)
    if (entries[k].first == entries[k - 1].first)
      throw InputError(code::unsupported_input, fmt::format("{}: tensor \"{}\" appears twice", path, entries[k].first));
  std::vector<std::string> quoted_files;
  for (const auto& file : plan.files) {
    quoted_files.emplace_back();
    append_json_string(quoted_files.back(), file, true);
  }
  std::string index = fmt::format("{{\n  \"metadata\": {{\n    \"total_size\": {}\n  }},\n  \"weight_map\": {{", plan.total_size);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    index += k ? ",\n    " : "\n    ";
    if (!append_json_string(index, entries[k].first, true))
      throw InputError(code::unsupported_input, fmt::format("{}: a tensor name is not valid UTF-8", path));
    index += ": ";
    index += quoted_files[entries[k].second];
  }
  index += "\n  }\n}\n";
  return index;
}

std::vector<std::string> write_sharded(const std::string& path, uint64_t max_shard_bytes,
                                       const std::vector<OutputTensor>& tensors,
                                       const std::vector<std::pair<std::string, std::string>>& metadata,
                                       const WriteProgress& progress) {
  fs::path target(path);
  fs::path directory = target.parent_path();  // empty: the current directory, and names stay relative
  const std::string file_name = target.filename().string();
  const bool safetensors = is_safetensors(file_name);
  ShardPlan plan = plan_shards(file_name, max_shard_bytes, tensors);
  if (!plan.sharded()) {
    if (safetensors) write_safetensors(path, tensors, metadata, progress);
    else write_torch(path, state_dict_value(tensors), progress);
    return {path};
  }

  // What can be refused is refused before any byte is written: a dtype safetensors cannot hold,
  // a name that JSON cannot hold (the index is built first).
  if (safetensors)
    for (const auto& tensor : tensors)
      if (!safetensors_code(tensor.data->dtype))
        throw InputError(code::unsupported_input,
                         fmt::format("{}: tensor \"{}\" is {}, which safetensors cannot hold; write .pt instead", path,
                                     tensor.name, dtype_name(tensor.data->dtype)));
  std::string index = shard_index_json(path, plan, tensors);

  uint64_t base = 0;
  auto shard_progress = [&](uint64_t done, uint64_t) {
    if (progress) progress(base + done, plan.total_size);
  };
  StagingDirectory staging;  // torch shards are written by write_torch, then renamed out of here
  AtomicFileSet set;
  std::vector<std::string> written;
  for (std::size_t s = 0; s < plan.files.size(); ++s) {
    std::vector<OutputTensor> shard;
    shard.reserve(plan.tensors[s].size());
    for (std::size_t i : plan.tensors[s]) shard.push_back(tensors[i]);
    std::string shard_path = (directory / plan.files[s]).string();
    if (safetensors) {
      write_safetensors_into(set.add(shard_path), shard, metadata, shard_progress);
      for (const auto& tensor : shard) base += tensor.data->nbytes();
    } else {
      for (int attempt = 0; staging.path.empty(); ++attempt) {
        std::string name = (directory / fmt::format(".{}.taxon-shards-{}-{}", file_name, ::getpid(), attempt)).string();
        if (::mkdir(name.c_str(), 0700) == 0) staging.path = name;
        else if (errno != EEXIST || attempt == 100)
          throw InputError(code::unwritable_output,
                           fmt::format("cannot write {}: {} (a staging directory beside it); nothing was written", path,
                                       std::strerror(errno)));
      }
      std::string staged = (fs::path(staging.path) / plan.files[s]).string();
      set.adopt(staged, shard_path);  // adopted first: removed on any error, a half-written one included
      write_torch(staged, state_dict_value(shard), shard_progress);
      std::unordered_set<const StorageBlock*> counted;  // each storage is written once
      for (const auto& tensor : shard)
        if (counted.insert(tensor.data->storage.get()).second) base += tensor.data->storage->nbytes;
    }
    written.push_back(shard_path);
  }
  std::string index_path = path + ".index.json";
  set.add(index_path).write(index);
  set.commit();
  written.push_back(index_path);
  return written;
}

std::vector<std::string> checkpoint_files_at(const std::string& path) {
  fs::path target(path);
  fs::path directory = target.parent_path();
  std::string file_name = target.filename().string();
  std::size_t dot = file_name.rfind('.');
  if (dot == std::string::npos || dot == 0) dot = file_name.size();
  std::string stem = file_name.substr(0, dot), extension = file_name.substr(dot);
  std::vector<std::string> found;
  std::error_code error;
  for (fs::directory_iterator it(directory.empty() ? fs::path(".") : directory, error), end; !error && it != end;
       it.increment(error)) {
    std::string name = it->path().filename().string();
    bool ours = name == file_name || name == file_name + ".index.json";
    if (!ours && name.size() > stem.size() + extension.size() && name.starts_with(stem) && name.ends_with(extension)) {
      // stem-NNNNN-of-NNNNN.ext, five digits or more each
      std::string_view middle(name);
      middle = middle.substr(stem.size(), middle.size() - stem.size() - extension.size());
      ours = is_shard_numbering(middle);
    }
    if (ours) found.push_back((directory / name).string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace taxon
