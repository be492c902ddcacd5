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

// A maximum shard size as transformers' and huggingface_hub's `max_shard_size`
// spell it: a decimal number and a unit, KB MB GB TB (powers of 1000) or KiB
// MiB GiB TiB (powers of 1024), any case, spaces allowed around and between
// ("5GB", "500MB", "1.5GB", "2GiB", "10 kb"); or a whole number of bytes, with
// or without "B". Decimal units give int(value * 10^k) computed in doubles, as
// huggingface_hub's parse_size_to_int does ("2.01GB" is 2009999999). Throws
// InputError (T0001, usage) naming the text and what would be accepted.
uint64_t parse_shard_size(std::string_view text);

// How Hugging Face splits a state dict (huggingface_hub's
// split_state_dict_into_shards_factory, which transformers' save_pretrained
// uses): tensors in order fill the current shard until the next would take it
// past `max_shard_bytes`, which then starts a new shard; a tensor larger than
// the maximum gets a shard of its own, placed before the shard being filled;
// a tensor is never split. A tensor's size is the bytes it adds to the file:
// for safetensors its own bytes; for torch files (.bin/.pt/.pth) its storage's,
// counted once: a tensor viewing a storage an earlier tensor views (a tie) costs
// nothing and goes in that tensor's shard, after the shard's other tensors.
// Several shards are named `stem-00001-of-0000N.ext` after the output's file
// name; one shard keeps the plain name and needs no index.
struct ShardPlan {
  std::vector<std::string> files;                 // file names, no directory, in order
  std::vector<std::vector<std::size_t>> tensors;  // for each file, indices into the tensors, in the order written
  uint64_t total_size = 0;                        // the index's metadata.total_size
  bool sharded() const { return files.size() > 1; }
};
ShardPlan plan_shards(const std::string& file_name, uint64_t max_shard_bytes, const std::vector<OutputTensor>& tensors);

// The index transformers writes for a sharded checkpoint (write_sharded's): {"metadata":
// {"total_size": N}, "weight_map": {tensor: shard file}}, keys sorted, indented by 2, ASCII.
// Throws InputError for a name given twice or not valid UTF-8.
std::string shard_index_json(const std::string& path, const ShardPlan& plan, const std::vector<OutputTensor>& tensors);

// `stem-00002-of-00005.ext` for shard 2 (1-based) of 5 of `stem.ext`.
std::string shard_file_name(const std::string& file_name, std::size_t shard, std::size_t count);

// Writes `tensors` to `path` (DIR/model.safetensors, DIR/pytorch_model.bin, or
// any .safetensors, .bin, .pt or .pth) split as plan_shards says. When
// everything fits in one shard, this is write_safetensors(path, ...) or
// write_torch(path, state_dict_value(tensors)) and nothing else. Otherwise it
// writes the shards beside `path` (safetensors shards each with `metadata`;
// torch shards each an OrderedDict state dict, readable by torch.load) and the
// index `path` + ".index.json", as transformers writes it: {"metadata":
// {"total_size": N}, "weight_map": {tensor: shard file}}, keys sorted, indented
// by 2, ASCII. All files appear or none (AtomicFileSet): on any error no new
// file is left and the earlier files at those paths are as they were. Files of
// an earlier save that this one does not replace are left alone (see
// checkpoint_files_at). Returns the paths written: the shards in order, then the
// index. Progress counts the bytes of all shards. Throws InputError.
std::vector<std::string> write_sharded(const std::string& path, uint64_t max_shard_bytes,
                                       const std::vector<OutputTensor>& tensors,
                                       const std::vector<std::pair<std::string, std::string>>& metadata,
                                       const WriteProgress& progress = {});

// The files in `path`'s directory that a loader could take for the checkpoint
// `path` names: `path` itself, `path`.index.json, and shards of any count named
// after it (`stem-NNNNN-of-NNNNN.ext`); sorted. What an existing-output check
// (or a clean-up before a save, as transformers does) looks at.
std::vector<std::string> checkpoint_files_at(const std::string& path);

}  // namespace taxon
