// Checkpoints as taxon reads them: the state dict's tensors (names, dtypes,
// shapes, zero-copy views of their bytes) plus what surrounds them, so a
// rewrite loses nothing. Readers: safetensors (single and sharded) and
// PyTorch's torch.save formats (zip and legacy). No LibTorch.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor_table.hpp"
#include "runtime/mapped_file.hpp"
#include "runtime/pickle.hpp"
#include "runtime/tensor_data.hpp"

namespace taxon {

struct CheckpointTensor {
  std::string name;
  TensorData data;
};

struct Checkpoint {
  std::string path;
  std::string format;  // "safetensors", "safetensors (sharded)", "torch zip", "torch legacy"
  std::vector<CheckpointTensor> tensors;     // the state dict, in file order
  std::vector<std::string> state_dict_path;  // where the state dict sits in a torch file; empty = the root
  std::vector<std::string> other_tensor_entries;  // top-level entries that hold tensors too (state_dict_ema, optimizer)
  std::vector<std::pair<std::string, std::string>> metadata;  // safetensors __metadata__
  PyRef root;  // torch files: the whole unpickled object
  std::vector<std::shared_ptr<const MappedFile>> files;
};

struct ReadOptions {
  // Where to look for the state dict in a torch file, first match wins
  // (docs/checkpoints.md: the DSL/dump/apply default). "" stands for the root.
  std::vector<std::string> source_order{"state_dict", "model_state_dict", "model", "module", ""};
  // Set by --source / `from`: exactly this entry (dotted path), or fail.
  std::optional<std::string> source;
};

// Throws InputError: unreadable, corrupt (with the offset), unsupported, or
// no state dict found (listing what was found).
Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options = {});

Checkpoint read_safetensors(const std::string& path);
Checkpoint read_safetensors_sharded(const std::string& index_path);
Checkpoint read_torch(const std::string& path, const ReadOptions& options);

// The checkpoint as a model-dump/1 table (no module types); a tensor that
// views exactly what an earlier one views is marked tied to it.
TensorTable checkpoint_table(const Checkpoint& checkpoint);

// Several checkpoints read as one state dict (merged in order): what a plan
// runs over. Rows keep which file they come from.
struct MergedCheckpoints {
  std::vector<Checkpoint> sources;
  TensorTable table;  // every tensor; `source` is "1", "2", ... (rules say `source == 2`); ties cleared
  std::vector<std::pair<std::size_t, std::size_t>> origin;  // row -> (source, tensor)

  const TensorData& data(std::size_t row) const { return sources[origin[row].first].tensors[origin[row].second].data; }
};
MergedCheckpoints read_merged_checkpoints(const std::vector<std::string>& paths, const ReadOptions& options = {});

// A value in a torch file whose class taxon does not know (docs/checkpoints.md):
// an object kept as a record, never imported or called, or such a class named
// as a value.
struct OpaqueEntry {
  std::string path;                // where it sits: "hyper_parameters.data_indices", "callbacks[1]"
  std::string type;                // its class: "anemoi.models.data_indices.collection.IndexCollection"
  std::size_t tensors = 0;         // tensors inside it
  std::vector<std::string> entry;  // the dict entry holding it, keys from the root: what a .pt output leaves out
};

// The outermost opaque values under `root` (objects inside them are not
// listed again), in the order the pickle holds them. Linear in the values.
std::vector<OpaqueEntry> opaque_entries(const PyRef& root);

// A prefix every key carries (module., _orig_mod., model.), if any.
std::optional<std::string> common_wrapper_prefix(const Checkpoint& checkpoint);

}  // namespace taxon
