// `taxon apply PLAN CKPT... --target T -o OUT`: adapt checkpoints to a model.
#include "tools/apply_command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/plan.hpp"
#include "engine/tensor_actions.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/dtype.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"
#include "runtime/materialize.hpp"
#include "runtime/actions.hpp"
#include "runtime/model_dump.hpp"
#include "tools/apply_report.hpp"
#include "tools/cli_common.hpp"

namespace taxon::cli {
namespace {

constexpr uint64_t kProgressAbove = 256ull << 20;  // show progress for outputs over 256 MiB on a terminal

std::string fnv1a(std::string_view text) {  // a stable fingerprint of the plan's source, for provenance
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", hash);
}

TensorTable read_target(const std::string& path) {
  if (path.ends_with(".json")) return read_model_dump(path);
  return checkpoint_table(read_checkpoint(path));
}

}  // namespace

void ApplyCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("apply", "Adapt checkpoints with a plan and write the result");
  command->footer(
      "Runs a `plan` block (from, strip, prefix, drop, keep, rename, copy, resize, resample, transform,\n"
      "split, fuse, stack, unstack, skip mismatched, load)\n"
      "over one or more checkpoints, merged into one state dict, and writes the result. With --target\n"
      "(a model dump or a checkpoint of the model to load into) it reports what a load would find\n"
      "missing or unexpected, and `skip mismatched` drops keys whose shape differs.\n"
      "\n"
      "Examples:\n"
      "  taxon apply plans.tx ddp.pt --target model.json --dry-run        what would happen\n"
      "  taxon apply plans.tx ckpt.pt --target model.json -o out.safetensors\n"
      "  taxon apply plans.tx a.pt b.pt --plan stitch -o merged.safetensors --format json\n"
      "  taxon apply plans.tx ckpt.pt -o hf/model.safetensors --max-shard-size 5GB\n"
      "\n"
      "With --target the load is judged as PyTorch's load_state_dict would: a key of another shape\n"
      "fails it whatever `strict` says, and so does loading nothing; --dry-run reaches the same verdict\n"
      "as the real run, and the report is printed only once it holds.\n"
      "\n"
      "The input is never modified; the output is written atomically and an existing one is kept\n"
      "unless --force. A .pt output of a nested checkpoint keeps its other entries (epoch, config,\n"
      "numpy values, Namespace and omegaconf objects), less optimizer and scheduler state when the plan\n"
      "changed which tensors there are, and less entries holding objects of classes taxon does not know\n"
      "(it never runs their code, so it does not vouch for them): --keep-objects writes those back.\n"
      "\n"
      "--max-shard-size writes Hugging Face's layout beside OUT: OUT's stem-00001-of-0000N shards and\n"
      "OUT.index.json (model.safetensors -> model-00001-of-00003.safetensors, model.safetensors.index.json;\n"
      "pytorch_model.bin likewise, each shard a state dict); one shard is OUT itself. All or none appear.\n"
      "\n"
      "Exit status: 0 done; 1 the load would fail (nothing written); 2 the plan, an input or the\n"
      "output could not be read or written (nothing written).");
  command->add_option("PLAN", plan_file, "Rule file (.tx) holding the plan")->required();
  command->add_option("CHECKPOINTS", checkpoints,
                      "Checkpoints to read (merged in order); optional when the rules name one (anemoi's source)");
  command->add_option("--plan", plan_name, "Which plan, when the file holds several");
  command->add_option("--target", target, "Model dump (.json) or checkpoint of the model to load into");
  command->add_option("-o,--output", output, "Output checkpoint: .safetensors, or .pt/.pth/.bin (torch.save's zip format)");
  command->add_option("--source", source, "Entry of a torch checkpoint that holds the state dict (overrides `from`)");
  command->add_option("--format", format, "Report format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  command->add_flag("--dry-run", dry_run, "Report what the plan would do; write nothing");
  command->add_flag("--force", force, "Overwrite an existing output");
  command->add_flag("--all", list_all, "List every name in the text report");
  command->add_flag("--state-dict-only", state_dict_only,
                    "For a .pt output of a nested checkpoint: write the state dict alone, without epoch, config, ...");
  command->add_option("--max-shard-size", max_shard_size,
                      "Split the output into shards of at most this size, in Hugging Face's layout (5GB, 500MB, 2GiB)");
  command->add_flag("--keep-objects", keep_objects,
                    "For a .pt output: write back objects of classes taxon does not know (left out otherwise)");
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

namespace {

// Before any input is read: the output's format, its directory, and that it is
// neither an input nor (without --force) an existing file.
void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force, bool sharded) {
  namespace fs = std::filesystem;
  if (!output.ends_with(".safetensors") && !output.ends_with(".pt") && !output.ends_with(".pth") && !output.ends_with(".bin") &&
      !output.ends_with(".ckpt"))
    throw InputError(code::unsupported_input,
                     fmt::format("{}: the output's suffix picks its format: .safetensors, or .pt/.pth/.bin/.ckpt (torch.save)",
                                 output));
  std::error_code error;
  fs::path directory = fs::path(output).parent_path();
  if (directory.empty()) directory = ".";
  if (!fs::is_directory(directory, error))
    throw InputError(code::unwritable_output, fmt::format("cannot write {}: the directory {} does not exist; create it first "
                                                          "(mkdir -p {})",
                                                          output, directory.string(), directory.string()));
  if (::access(directory.c_str(), W_OK | X_OK) != 0)
    throw InputError(code::unwritable_output,
                     fmt::format("cannot write {}: {} is not writable ({})", output, directory.string(), std::strerror(errno)));
  if (sharded) {  // every file of an earlier save at this name: its shards and index too
    for (const auto& file : checkpoint_files_at(output))
      for (const auto& input : inputs)
        if (fs::equivalent(file, input, error))
          throw InputError(code::unwritable_output, fmt::format("{} is also an input; taxon never modifies its inputs: write to "
                                                                "another file",
                                                                file));
    std::vector<std::string> earlier = checkpoint_files_at(output);
    if (!earlier.empty() && !force)
      throw InputError(code::unwritable_output, fmt::format("{} exists{}; pass --force to replace {}", earlier.front(),
                                                            earlier.size() > 1 ? fmt::format(" (and {} more files of that checkpoint)", earlier.size() - 1) : "",
                                                            earlier.size() > 1 ? "them" : "it"));
    return;
  }
  if (!fs::exists(output, error)) return;
  for (const auto& input : inputs)
    if (fs::equivalent(output, input, error))
      throw InputError(code::unwritable_output, fmt::format("{} is also an input; taxon never modifies its inputs: "
                                                            "write to another file", output));
  if (fs::is_directory(output, error)) throw InputError(code::unwritable_output, fmt::format("{} is a directory", output));
  if (!force) throw InputError(code::unwritable_output, fmt::format("{} exists; pass --force to overwrite it", output));
}

// Whether the plan changed which tensors there are or their shapes: then an
// optimizer's state, which names parameters by position, no longer fits.
bool reshuffles(const PlanResult& result) {
  if (!result.dropped.empty() || !result.renamed.empty() || !result.copied.empty() || !result.surgery.empty() ||
      !result.skipped.empty() || !result.not_in_target.empty())
    return true;
  for (const auto& key : result.keys)
    for (const auto& action : key.actions)
      if (action.from != action.to) return true;
  return false;
}

std::vector<std::string> top_level_entries(const PyRef& root) {
  std::vector<std::string> names;
  if (const PyDict* dict = as_dict(root))
    for (const auto& [key, value] : dict->items)
      if (const std::string* name = as_string(key)) names.push_back(*name);
  return names;
}

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

struct ObjectEntry {
  std::string entry, reason, types;
};

// The dict entries a .pt output leaves out for the opaque objects they hold (adding them to
// `leave_out`): one per entry, however many objects it holds, none inside what is already left
// out, never the state dict's own path.
std::vector<ObjectEntry> leave_out_objects(const Checkpoint& checkpoint, std::vector<std::vector<std::string>>& leave_out) {
  std::vector<ObjectEntry> out;
  std::vector<std::vector<std::string>> entries;
  std::vector<std::vector<std::string>> types;
  for (const auto& object : opaque_entries(checkpoint.root)) {
    if (object.entry.empty())
      throw InputError(code::unsupported_input,
                       fmt::format("{}: {} is an object of class {}, which taxon does not know, and no entry of the file can "
                                   "be left out without it; pass --keep-objects to write it back, or --state-dict-only",
                                   checkpoint.path, object.path, object.type));
    if (is_prefix(object.entry, checkpoint.state_dict_path)) continue;
    if (std::any_of(leave_out.begin(), leave_out.end(), [&](const auto& path) { return is_prefix(path, object.entry); }))
      continue;
    auto found = std::find(entries.begin(), entries.end(), object.entry);
    if (found == entries.end()) {
      entries.push_back(object.entry);
      types.push_back({object.type});
    } else if (auto& list = types[found - entries.begin()]; std::find(list.begin(), list.end(), object.type) == list.end()) {
      list.push_back(object.type);
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    leave_out.push_back(entries[i]);
    std::string types_text = fmt::format("{}", fmt::join(types[i], ", "));
    out.push_back({fmt::format("{}", fmt::join(entries[i], ".")),
                   fmt::format("holds {}, a class taxon does not know; --keep-objects writes it back", types_text), types_text});
  }
  return out;
}

bool uses_library(const PlanResult& result) {
  for (const auto* transform : result.transforms)
    if (const TensorActionSpec* spec = find_tensor_action(transform->action); spec && spec->library) return true;
  return false;
}

}  // namespace

int ApplyCommand::run() const {
  if (!dry_run && output.empty()) throw CLI::RequiredError("-o/--output (or --dry-run)");
  std::optional<uint64_t> shard_bytes;
  if (!max_shard_size.empty()) {
    shard_bytes = parse_shard_size(max_shard_size);
    if (output.empty()) throw CLI::RequiredError("-o/--output (--max-shard-size names how to split it)");
  }
  bool sharding = shard_bytes.has_value();
  if (!output.empty()) check_output(output, checkpoints, force, sharding);
  RuleFile rules = load_rule_file(plan_file);
  if (rules.diagnostics.has_errors()) {
    print_diagnostics(rules.diagnostics.items(), 5);
    return kCouldNot;
  }
  std::vector<std::string> names;
  const CheckpointPlan* plan = find_plan(rules, plan_name, names);
  if (!plan)
    throw InputError(code::no_plan, names.empty() ? fmt::format("{} holds no `plan` block", plan_file)
                                                  : fmt::format("{} holds the plans {}; choose one with --plan NAME",
                                                                plan_file, fmt::join(names, ", ")));

  std::vector<std::string> inputs = checkpoints;
  if (inputs.empty() && plan->checkpoint_path) {
    inputs.push_back(*plan->checkpoint_path);
    if (!output.empty()) check_output(output, inputs, force, sharding);
  }
  if (inputs.empty()) throw CLI::RequiredError("CHECKPOINTS (the plan names none)");

  ReadOptions read_options;
  if (!plan->sources.empty()) read_options.source_order = plan->sources;
  if (!source.empty()) read_options.source = source;
  MergedCheckpoints merged = read_merged_checkpoints(inputs, read_options);
  const TensorTable& input = merged.table;
  const std::vector<Checkpoint>& sources = merged.sources;
  std::optional<TensorTable> target_table;
  if (!target.empty()) target_table = read_target(target);

  std::vector<std::string> labels;  // "name (in file)", for messages about merged sources
  if (inputs.size() > 1)
    for (std::size_t row = 0; row < input.tensors.size(); ++row)
      labels.push_back(fmt::format("{} (in {})", input.tensors[row].name, inputs[merged.origin[row].first]));
  PlanResult result = run_plan(*plan, input, target_table ? &*target_table : nullptr, labels);
  if (result.diagnostics.has_errors()) {
    print_diagnostics(result.diagnostics.items(), 5);
    return kCouldNot;
  }
  if (uses_library(result)) require_actions_library();  // a dry run promises what the real run can do
  if (output.ends_with(".safetensors"))
    for (const auto& key : result.keys)
      if (auto dtype = dtype_from_name(key.recipe->dtype); dtype && !safetensors_code(*dtype))
        throw InputError(code::unsupported_input,
                         fmt::format("{}: tensor \"{}\" is {}, which safetensors cannot hold; write .pt instead", output,
                                     key.name, key.recipe->dtype));

  ApplyReport report{plan->name, inputs, target, {}, &input, &result, {}, list_all};
  bool to_pt = !output.ends_with(".safetensors");
  const Checkpoint& first = sources.front();
  bool nested = sources.size() == 1 && first.root && !first.state_dict_path.empty();
  // A .pt output of a nested checkpoint keeps its other entries, less those the plan made stale.
  bool write_nested = !output.empty() && to_pt && nested && !state_dict_only && !sharding;
  std::vector<std::string> notes;
  std::vector<std::vector<std::string>> leave_out;
  if (write_nested && reshuffles(result)) {
    std::vector<std::string> positional = positional_entries(first.root);
    for (const auto& name : positional) {
      leave_out.push_back({name});
      report.left_out.push_back({name, "refers to parameters by position"});
    }
    if (!positional.empty())
      notes.push_back(fmt::format("note: {} left out of {}: {} refer{} to parameters by position, and the plan changed which "
                                  "tensors there are; --state-dict-only writes the state dict alone",
                                  fmt::join(positional, ", "), output, positional.size() == 1 ? "it" : "they",
                                  positional.size() == 1 ? "s" : ""));
  }
  if (write_nested && !keep_objects) {
    std::vector<std::string> named;
    for (const auto& object : leave_out_objects(first, leave_out)) {
      report.left_out.push_back({object.entry, object.reason});
      named.push_back(fmt::format("{} ({})", object.entry, object.types));
    }
    if (!named.empty())
      notes.push_back(fmt::format("note: left out of {}: {}: objects of classes taxon does not know, which it never runs and so "
                                  "does not vouch for; --keep-objects writes them back",
                                  output, fmt::join(named, ", ")));
  }
  std::vector<std::string> not_held;  // what a .safetensors output (or a sharded .bin) cannot hold
  if (!output.empty() && (!to_pt || sharding))
    for (const auto& checkpoint : sources)
      if (!checkpoint.state_dict_path.empty()) {
        for (const auto& name : top_level_entries(checkpoint.root))
          if (name != checkpoint.state_dict_path.front() &&
              std::find(not_held.begin(), not_held.end(), name) == not_held.end())
            not_held.push_back(name);
        notes.push_back(fmt::format("note: {} holds more than the state dict; {}, so the rest "
                                    "(epoch, config, optimizer, ...) is not in {}{}",
                                    checkpoint.path,
                                    to_pt ? "a sharded checkpoint's shards are state dicts" : "safetensors keeps tensors only",
                                    output, to_pt ? "" : "; its metadata names what was left out (taxon.left_out)"));
      }

  auto render = [&]() { return format == "json" ? apply_report_json(report) : apply_report_text(report); };
  if (result.verdict.load_fails) {
    std::cout << render() << std::flush;
    std::cerr << fmt::format("error[{}]: the load would fail: {}; nothing was written\n", code::plan_load_fails,
                             fmt::join(result.verdict.reasons, "; "));
    if (!result.verdict.hint.empty()) std::cerr << fmt::format(" = hint: {}\n", result.verdict.hint);
    return kAnswerNo;
  }
  if (dry_run) {
    std::cout << render() << std::flush;
    return kDone;
  }

  std::vector<OutputTensor> tensors;
  std::vector<std::shared_ptr<const TensorData>> made;  // alive until written
  Materializer materializer(result.keys, [&](std::size_t row) -> const TensorData& { return merged.data(row); });
  for (const auto& key : result.keys) {
    try {
      made.push_back(materializer.make(key));
    } catch (const InputError& error) {
      throw InputError(error.code(), fmt::format("{}: {}", key.name, error.what()));
    }
    tensors.push_back({key.name, made.back().get()});
  }
  uint64_t total = 0;
  for (const auto& tensor : tensors) total += tensor.data->nbytes();
  bool show_progress = total > kProgressAbove && ::isatty(STDERR_FILENO);
  auto progress = [&](uint64_t done, uint64_t all) {
    if (show_progress) std::cerr << fmt::format("\rwriting {}: {:3}%", output, all ? done * 100 / all : 100) << std::flush;
  };
  std::vector<std::pair<std::string, std::string>> metadata;
  if (!to_pt) {
    for (const auto& checkpoint : sources)
      if (!checkpoint.metadata.empty()) {
        metadata = checkpoint.metadata;
        break;
      }
    metadata.emplace_back("taxon.plan", plan->name);
    metadata.emplace_back("taxon.plan_fnv1a", fnv1a(rules.source->text));
    metadata.emplace_back("taxon.sources", fmt::format("{}", fmt::join(inputs, ",")));
    if (!not_held.empty()) metadata.emplace_back("taxon.left_out", fmt::format("{}", fmt::join(not_held, ",")));
  }
  std::string written_to = output;
  if (sharding) {
    std::vector<std::string> earlier = checkpoint_files_at(output);  // --force was given, or there are none
    std::vector<std::string> written = write_sharded(output, *shard_bytes, tensors, metadata, progress);
    // What an earlier save left that this one did not replace (more shards, an index now unneeded)
    // would be taken for part of the checkpoint: removed once the new files are all in place.
    for (const auto& file : earlier)
      if (std::find(written.begin(), written.end(), file) == written.end()) std::filesystem::remove(file);
    if (written.size() > 1) {
      written_to = written.back();
      notes.push_back(fmt::format("note: {} shards and their index {}", written.size() - 1, written.back()));
    }
  } else if (!to_pt) {
    write_safetensors(output, tensors, metadata, progress);
  } else {
    PyRef state_dict = state_dict_value(tensors);
    write_torch(output, write_nested ? nested_root(first.root, first.state_dict_path, state_dict, leave_out) : state_dict,
                progress);
  }
  if (show_progress) std::cerr << "\n";
  report.output = written_to;
  std::cout << render() << std::flush;
  for (const auto& note : notes) std::cerr << note << "\n";
  return kDone;
}

}  // namespace taxon::cli
