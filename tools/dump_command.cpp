// `taxon dump CKPT`: a checkpoint as a model-dump/1 (names, shapes, dtypes; no
// module types), so every rule command works on checkpoints too.
#include "tools/dump_command.hpp"

#include <iostream>

#include "taxon/taxon.hpp"
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
  Model model = Model::from_checkpoint(checkpoint, CheckpointOptions{source});
  std::cout << model.dump_json();
  for (const auto& note : model.notes()) std::cerr << note << "\n";
  return kDone;
}

}  // namespace taxon::cli
