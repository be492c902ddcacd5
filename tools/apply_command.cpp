// `taxon apply PLAN CKPT... --target T -o OUT`: adapt checkpoints to a model.
#include "tools/apply_command.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
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
      "\n"
      "With --target the load is judged as PyTorch's load_state_dict would: a key of another shape\n"
      "fails it whatever `strict` says, and so does loading nothing; --dry-run reaches the same verdict\n"
      "as the real run, and the report is printed only once it holds.\n"
      "\n"
      "The input is never modified; the output is written atomically and an existing one is kept\n"
      "unless --force. A .pt output of a nested checkpoint keeps its other entries (epoch, config), less\n"
      "optimizer and scheduler state when the plan changed which tensors there are.\n"
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
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

namespace {

// Before any input is read: the output's format, its directory, and that it is
// neither an input nor (without --force) an existing file.
void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force) {
  namespace fs = std::filesystem;
  if (!output.ends_with(".safetensors") && !output.ends_with(".pt") && !output.ends_with(".pth") && !output.ends_with(".bin"))
    throw InputError(code::unsupported_input,
                     fmt::format("{}: the output's suffix picks its format: .safetensors, or .pt/.pth/.bin (torch.save)", output));
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

bool uses_library(const PlanResult& result) {
  for (const auto* transform : result.transforms)
    if (const TensorActionSpec* spec = find_tensor_action(transform->action); spec && spec->library) return true;
  return false;
}

}  // namespace

int ApplyCommand::run() const {
  if (!dry_run && output.empty()) throw CLI::RequiredError("-o/--output (or --dry-run)");
  if (!output.empty()) check_output(output, checkpoints, force);
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
    if (!output.empty()) check_output(output, inputs, force);
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
  bool write_nested = !output.empty() && to_pt && nested && !state_dict_only;
  std::vector<std::string> notes;
  if (write_nested && reshuffles(result)) {
    report.left_out = positional_entries(first.root);
    if (!report.left_out.empty())
      notes.push_back(fmt::format("note: {} left out of {}: {} refer{} to parameters by position, and the plan changed which "
                                  "tensors there are; --state-dict-only writes the state dict alone",
                                  fmt::join(report.left_out, ", "), output, report.left_out.size() == 1 ? "it" : "they",
                                  report.left_out.size() == 1 ? "s" : ""));
  }
  if (!output.empty() && !to_pt)
    for (const auto& checkpoint : sources)
      if (!checkpoint.state_dict_path.empty())
        notes.push_back(fmt::format("note: {} holds more than the state dict; safetensors keeps tensors only, so the rest "
                                    "(epoch, config, optimizer, ...) is not in {}",
                                    checkpoint.path, output));

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
  if (!to_pt) {
    std::vector<std::pair<std::string, std::string>> metadata;
    for (const auto& checkpoint : sources)
      if (!checkpoint.metadata.empty()) {
        metadata = checkpoint.metadata;
        break;
      }
    metadata.emplace_back("taxon.plan", plan->name);
    metadata.emplace_back("taxon.plan_fnv1a", fnv1a(rules.source->text));
    metadata.emplace_back("taxon.sources", fmt::format("{}", fmt::join(inputs, ",")));
    write_safetensors(output, tensors, metadata, progress);
  } else {
    PyRef state_dict = state_dict_value(tensors);
    write_torch(output, write_nested ? nested_root(first.root, first.state_dict_path, state_dict, report.left_out) : state_dict,
                progress);
  }
  if (show_progress) std::cerr << "\n";
  report.output = output;
  std::cout << render() << std::flush;
  for (const auto& note : notes) std::cerr << note << "\n";
  return kDone;
}

}  // namespace taxon::cli
