// A Model read from a checkpoint, and any Model written back as model-dump/1: what `taxon dump`
// prints on stdout (dump_json) and on stderr (notes).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/internal.hpp"
#include "api/json_stream.hpp"
#include "runtime/checkpoint.hpp"

namespace taxon {

Model Model::from_checkpoint(const std::string& path, const CheckpointOptions& options) {
  return translating_errors([&] {
    ReadOptions read_options;
    if (!options.source.empty()) read_options.source = options.source;
    Checkpoint read = read_checkpoint(path, read_options);
    CheckpointFacts facts;
    facts.format = read.format;
    facts.state_dict_path = read.state_dict_path;
    facts.other_tensor_entries = read.other_tensor_entries;
    for (auto& object : opaque_entries(read.root)) facts.objects.push_back({object.path, object.type, object.tensors});
    facts.wrapper_prefix = common_wrapper_prefix(read);
    return Model(std::make_shared<const Impl>(Impl{checkpoint_table(read), path, std::move(facts)}));
  });
}

std::string Model::dump_json() const {
  const TensorTable& table = impl_->table;
  // A state dict does not say which tensors are parameters, or which train: a checkpoint's dump
  // claims no more than that, whatever the reader guessed.
  const bool checkpoint = impl_->checkpoint.has_value();
  using json = nlohmann::ordered_json;
  std::string text;
  JsonStream out(text, 1);  // streamed: an entry per tensor
  out.begin_object();
  out.key("format");
  out.string("model-dump/1");
  out.key("model");
  out.string(table.model);
  if (!table.modules.empty()) {
    out.key("modules");
    out.begin_array();
    for (const auto& [path, type] : table.modules) out.value(json{{"name", path}, {"type", type}});
    out.end_array();
  }
  out.key("tensors");
  out.begin_array();
  for (const auto& record : table.tensors) {
    json tensor;
    tensor["name"] = record.name;
    tensor["shape"] = record.shape;
    tensor["dtype"] = record.dtype;
    tensor["kind"] = checkpoint || record.kind == TensorKind::unknown ? "unknown"
                     : record.kind == TensorKind::buffer              ? "buffer"
                                                                      : "parameter";
    if (!checkpoint) {
      if (!record.module_type.empty()) {
        tensor["module"] = record.module;
        tensor["module_type"] = record.module_type;
      }
      if (!record.requires_grad) tensor["requires_grad"] = false;
      if (!record.persistent) tensor["persistent"] = false;
    }
    if (record.tied_to) tensor["tied_to"] = table.tensors[*record.tied_to].name;
    out.value(tensor);
  }
  out.end_array();
  if (table.stage_map) {
    json stages = json::object();
    for (const auto& [stage, patterns] : table.stage_map->stages) stages[stage] = patterns;
    out.key("parameter_groups_metadata");
    out.value(json{{"stages", std::move(stages)}});
  }
  out.key("objects");  // always there, so scripts need not test for it
  out.begin_array();
  if (checkpoint)
    for (const auto& object : impl_->checkpoint->objects)
      out.value(json{{"path", object.path}, {"class", object.type}, {"tensors", object.tensors}});
  out.end_array();
  out.end_object();
  return text + "\n";
}

std::vector<std::string> Model::notes() const {
  if (!impl_->checkpoint) return {};
  const CheckpointFacts& read = *impl_->checkpoint;
  std::vector<std::string> notes;
  std::string where = read.state_dict_path.empty() ? "the root" : fmt::format("'{}'", fmt::join(read.state_dict_path, "."));
  notes.push_back(fmt::format("note: {} ({}): {} tensors, state dict from {}", impl_->path, read.format, size(),
                              read.format.find("sharded") != std::string::npos ? "the shards"
                              : read.format.starts_with("torch")              ? where
                                                                              : "the file"));
  if (!read.other_tensor_entries.empty())
    notes.push_back(fmt::format("note: other entries hold tensors too: {} (--source picks one)",
                                fmt::join(read.other_tensor_entries, ", ")));
  if (!read.objects.empty()) {
    std::vector<std::string> named;
    for (const auto& object : read.objects) named.push_back(fmt::format("{} ({})", object.path, object.type));
    notes.push_back(fmt::format("note: objects of classes taxon does not know, kept as records and never run: {} (\"objects\" "
                                "in the dump; `taxon apply` writes them back only with --keep-objects)",
                                fmt::join(named, ", ")));
  }
  if (read.wrapper_prefix) {
    const std::string& prefix = *read.wrapper_prefix;
    std::string_view wrapper = prefix == "module."     ? "DistributedDataParallel adds it"
                               : prefix == "_orig_mod." ? "torch.compile adds it"
                                                        : "Lightning adds it, though some models name their trunk so";
    notes.push_back(
        fmt::format("note: every key starts with \"{}\" ({}); a plan removes it with `strip \"{}\"`", prefix, wrapper, prefix));
  }
  return notes;
}

}  // namespace taxon
