#include "api/sharded_parts.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "engine/dtype.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"

namespace taxon {
namespace {

namespace fs = std::filesystem;

std::string shard_path(const ShardLayout& layout, std::size_t shard) {
  return (fs::path(layout.output).parent_path() / layout.plan.files[shard]).string();
}

}  // namespace

ShardLayout plan_shard_layout(const std::string& output, uint64_t shard_bytes, const std::vector<PlannedKey>& keys) {
  ShardLayout layout;
  layout.output = output;
  layout.shapes.resize(keys.size());
  layout.tensors.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::optional<DType> dtype = dtype_from_name(keys[i].recipe->dtype);
    if (!dtype) throw InputError(code::unsupported_input, fmt::format("{}: dtype {} has no size", keys[i].name, keys[i].recipe->dtype));
    layout.shapes[i].dtype = *dtype;
    layout.shapes[i].shape = keys[i].recipe->shape;
    layout.tensors.push_back({keys[i].name, &layout.shapes[i]});
  }
  layout.plan = plan_shards(fs::path(output).filename().string(), shard_bytes, layout.tensors);
  return layout;
}

std::vector<std::string> write_shard_part(const ShardLayout& layout, std::size_t part, std::size_t parts,
                                          const Metadata& metadata, const MakeTensors& make) {
  std::vector<std::string> written;
  // One shard at a time: what a part holds in memory is bounded by one shard's made tensors.
  for (std::size_t s = part - 1; s < layout.plan.files.size(); s += parts) {
    std::vector<std::shared_ptr<const TensorData>> made;  // in the shard's order, as make gives them
    make(layout.plan.tensors[s], [&](const PlannedKey&, std::shared_ptr<const TensorData> tensor) { made.push_back(std::move(tensor)); });
    std::vector<OutputTensor> shard;
    for (std::size_t k = 0; k < layout.plan.tensors[s].size(); ++k)
      shard.push_back({layout.tensors[layout.plan.tensors[s][k]].name, made.at(k).get()});
    write_safetensors(shard_path(layout, s), shard, metadata);
    written.push_back(shard_path(layout, s));
  }
  return written;
}

std::vector<std::string> join_shard_parts(const ShardLayout& layout, std::size_t parts) {
  const std::string& output = layout.output;
  std::vector<std::string> problems, files;
  for (std::size_t s = 0; s < layout.plan.files.size(); ++s) {
    std::string path = shard_path(layout, s);
    files.push_back(path);
    std::string owner = parts ? fmt::format(" (part {} of {})", s % parts + 1, parts) : std::string();
    std::error_code error;
    if (!fs::exists(path, error)) {
      problems.push_back(fmt::format("{} is missing{}", path, owner));
      continue;
    }
    Checkpoint shard = read_safetensors(path);
    const auto& expected = layout.plan.tensors[s];
    bool same = shard.tensors.size() == expected.size();
    for (std::size_t k = 0; same && k < expected.size(); ++k) {
      const TensorData& want = *layout.tensors[expected[k]].data;
      same = shard.tensors[k].name == layout.tensors[expected[k]].name && shard.tensors[k].data.shape == want.shape &&
             shard.tensors[k].data.dtype == want.dtype;
    }
    if (!same) problems.push_back(fmt::format("{} does not hold the tensors this plan gives it{}: another plan's, or from other inputs", path, owner));
  }
  if (!problems.empty())
    throw InputError(code::unwritable_output,
                     fmt::format("cannot join {}: {}; run the missing parts (--shard I/N) with the same plan, inputs and "
                                 "--max-shard-size, then join again",
                                 output, fmt::join(problems, "; ")));
  if (!layout.plan.sharded()) return files;  // one shard: the output itself, no index
  std::string index_path = output + ".index.json";
  AtomicFile index(index_path);
  index.write(shard_index_json(output, layout.plan, layout.tensors));
  index.commit();
  files.push_back(index_path);
  return files;
}

}  // namespace taxon
