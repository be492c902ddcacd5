// A sharded safetensors output written by several processes that never talk: each plans the
// whole layout from the planned keys' shapes and dtypes alone (no tensor made), writes the
// shards of its part, and a last run joins them with the index (ApplyOptions::part/parts/join).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/plans/plan.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/tensor_data.hpp"

namespace taxon {

using Metadata = std::vector<std::pair<std::string, std::string>>;
// Makes the planned keys at `rows` (positions in the plan's keys, which are the layout's tensors),
// in that order: a part visits only its own shards' keys, not every key once per shard.
using MakeTensors = std::function<void(const std::vector<std::size_t>& rows,
                                       const std::function<void(const PlannedKey&, std::shared_ptr<const TensorData>)>& each)>;

// The layout every part computes alike: the shards planned from the keys' shapes and dtypes
// alone (no tensor made). `tensors` point into `shapes`: a layout is not copied, only moved.
struct ShardLayout {
  std::vector<TensorData> shapes;
  std::vector<OutputTensor> tensors;
  ShardPlan plan;
  std::string output;
};
ShardLayout plan_shard_layout(const std::string& output, uint64_t shard_bytes, const std::vector<PlannedKey>& keys);

// Writes the shards of part `part` (1-based) of `parts`: shard s (0-based) belongs to part
// (s mod parts) + 1. Each shard file is replaced atomically; the index is not written. Returns
// the files written (none when the part has no shard).
std::vector<std::string> write_shard_part(const ShardLayout& layout, std::size_t part, std::size_t parts,
                                          const Metadata& metadata, const MakeTensors& make);

// Checks that every shard of the layout is there, holding the tensors the layout gives it, and
// writes the index (atomically). Returns the shards, then the index (the one file, when the
// layout has one shard). Throws InputError naming the missing or wrong shards and, with `parts`,
// the part that writes each.
std::vector<std::string> join_shard_parts(const ShardLayout& layout, std::size_t parts);

}  // namespace taxon
