// `taxon dump CKPT`: a checkpoint as a model-dump/1 (names, shapes, dtypes; no
// module types), so every rule command works on checkpoints too.
#include "tools/dump_command.hpp"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/checkpoint.hpp"
#include "tools/cli_common.hpp"

namespace taxon::cli {

void DumpCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("dump", "Print a checkpoint as a model dump (model-dump/1 JSON)");
  command->footer(
      "Reads safetensors (a file, or a sharded checkpoint's index or folder) and torch.save files\n"
      "(zip and legacy .pt/.pth/.bin/.ckpt) without running any code from them. The state dict is\n"
      "taken from state_dict, model_state_dict, model, module or the root, the first that maps names\n"
      "to tensors; --source picks another. stderr says which it took and what else holds tensors.\n"
      "Numpy values, argparse.Namespace, omegaconf configs, paths, datetimes and collections are read\n"
      "as data; objects of other classes are kept as records, never imported or run, and listed under\n"
      "\"objects\" (path and class); a file naming code that runs when unpickled is refused whole.\n"
      "\n"
      "Examples:\n"
      "  taxon dump model.safetensors > model.json\n"
      "  taxon dump checkpoint.pt --source state_dict_ema > ema.json\n"
      "  taxon eval rules.tx --dump model.json\n"
      "\n"
      "Exit status: 0 done; 2 the checkpoint cannot be read (the message says where and why).");
  command->add_option("CHECKPOINT", checkpoint, "Checkpoint file, or a sharded checkpoint's index or folder")->required();
  command->add_option("--source", source, "Entry that holds the state dict (dotted path, e.g. state_dict_ema)");
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int DumpCommand::run() const {
  ReadOptions options;
  if (!source.empty()) options.source = source;
  Checkpoint read = read_checkpoint(checkpoint, options);
  TensorTable table = checkpoint_table(read);

  nlohmann::ordered_json out;
  out["format"] = "model-dump/1";
  out["model"] = table.model;
  out["tensors"] = nlohmann::ordered_json::array();
  for (const auto& record : table.tensors) {
    nlohmann::ordered_json tensor;
    tensor["name"] = record.name;
    tensor["shape"] = record.shape;
    tensor["dtype"] = record.dtype;
    tensor["kind"] = "unknown";  // a state dict holds parameters and buffers alike
    if (record.tied_to) tensor["tied_to"] = table.tensors[*record.tied_to].name;
    out["tensors"].push_back(std::move(tensor));
  }
  std::vector<OpaqueEntry> objects = opaque_entries(read.root);
  out["objects"] = nlohmann::ordered_json::array();  // always there, so scripts need not test for it
  {
    for (const auto& object : objects)
      out["objects"].push_back({{"path", object.path}, {"class", object.type}, {"tensors", object.tensors}});
  }
  std::cout << out.dump(1) << "\n";

  std::string where = read.state_dict_path.empty() ? "the root" : fmt::format("'{}'", fmt::join(read.state_dict_path, "."));
  std::cerr << fmt::format("note: {} ({}): {} tensors, state dict from {}\n", checkpoint, read.format, read.tensors.size(),
                           read.format.find("sharded") != std::string::npos ? "the shards" : read.format.starts_with("torch") ? where : "the file");
  if (!read.other_tensor_entries.empty())
    std::cerr << fmt::format("note: other entries hold tensors too: {} (--source picks one)\n",
                             fmt::join(read.other_tensor_entries, ", "));
  if (!objects.empty()) {
    std::vector<std::string> named;
    for (const auto& object : objects) named.push_back(fmt::format("{} ({})", object.path, object.type));
    std::cerr << fmt::format("note: objects of classes taxon does not know, kept as records and never run: {} (\"objects\" "
                             "in the dump; `taxon apply` writes them back only with --keep-objects)\n",
                             fmt::join(named, ", "));
  }
  if (auto prefix = common_wrapper_prefix(read)) {
    std::string_view wrapper = *prefix == "module." ? "DistributedDataParallel adds it"
                               : *prefix == "_orig_mod." ? "torch.compile adds it"
                                                         : "Lightning adds it, though some models name their trunk so";
    std::cerr << fmt::format("note: every key starts with \"{}\" ({}); a plan removes it with `strip \"{}\"`\n", *prefix,
                             wrapper, *prefix);
  }
  return kDone;
}

}  // namespace taxon::cli
