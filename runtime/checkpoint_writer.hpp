// Writers. Outputs are atomic (AtomicFile): whole or absent.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/pickle.hpp"
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

// torch.save's zip format (readable by torch.load, weights_only=True included
// for plain state dicts): `root` pickled with protocol 2, each storage its
// tensors use written once (views and ties survive).
void write_torch(const std::string& path, const PyRef& root, const WriteProgress& progress = {});

// An OrderedDict of the tensors, as model.state_dict() returns.
PyRef state_dict_value(const std::vector<OutputTensor>& tensors);

// The top-level entries of a nested checkpoint that refer to parameters by
// position (optimizer state dicts, Lightning's `optimizer_states` and
// `lr_schedulers`): they no longer fit once a plan changes which tensors there are.
std::vector<std::string> positional_entries(const PyRef& root);

// What a .pt output of a nested checkpoint holds: its root object with the
// state dict replaced in place (at `state_dict_path`), everything else kept
// but the dict entries at `left_out` (each a path of keys from the root:
// {"optimizer"}, {"hyper_parameters", "data_indices"}). A root that is the
// state dict itself gives `state_dict`. Dicts off the edited paths are shared.
PyRef nested_root(const PyRef& root, const std::vector<std::string>& state_dict_path, const PyRef& state_dict,
                  const std::vector<std::vector<std::string>>& left_out);

}  // namespace taxon

// ---------------------------------------------------------------------------
// The writers' pieces, and sharded outputs in Hugging Face's layout
// (runtime/sharded_writer.cpp; docs/checkpoints.md#sharded-checkpoints).

#include <cstdint>
#include <string_view>

namespace taxon {

class AtomicFile;

// write_safetensors into a file the caller commits (a member of an AtomicFileSet).
void write_safetensors_into(AtomicFile& file, const std::vector<OutputTensor>& tensors,
                            const std::vector<std::pair<std::string, std::string>>& metadata,
                            const WriteProgress& progress = {});

}  // namespace taxon
