// `taxon apply PLAN CKPT... --target T -o OUT`: adapt checkpoints to a model.
#include "tools/apply_command.hpp"

#include <filesystem>
#include <iostream>
#include <map>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/plan.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/files.hpp"
#include "runtime/input_error.hpp"
#include "runtime/materialize.hpp"
#include "runtime/model_dump.hpp"
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

// "a, b, c", or "a, b, ... z (64 tensors)" for long lists (a stack of experts).
std::string abbreviated(const std::vector<std::string>& names) {
  if (names.size() <= 4) return fmt::format("{}", fmt::join(names, ", "));
  return fmt::format("{}, {}, ..., {} ({} tensors)", names[0], names[1], names.back(), names.size());
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
      "The input is never modified; the output is written atomically and an existing one is kept\n"
      "unless --force. Exit status: 0 done; 1 a strict load would fail (nothing written);\n"
      "2 the plan, an input or the output could not be read or written (nothing written).");
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
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int ApplyCommand::run() const {
  if (!dry_run && output.empty()) throw CLI::RequiredError("-o/--output (or --dry-run)");
  if (!output.empty()) {
    if (!output.ends_with(".safetensors") && !output.ends_with(".pt") && !output.ends_with(".pth") &&
        !output.ends_with(".bin"))
      throw InputError(code::unsupported_input,
                       fmt::format("{}: the output's suffix picks its format: .safetensors, or .pt/.pth/.bin (torch.save)",
                                   output));
    if (!dry_run && !force && std::filesystem::exists(output))
      throw InputError(code::unwritable_output, fmt::format("{} exists; pass --force to overwrite it", output));
    for (const auto& input : checkpoints)
      if (std::filesystem::exists(output) && std::filesystem::equivalent(output, input))
        throw InputError(code::unwritable_output, fmt::format("{} is also an input; taxon never modifies its inputs", output));
  }
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
  if (inputs.empty() && plan->checkpoint_path) inputs.push_back(*plan->checkpoint_path);
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
  // The report.
  std::size_t kept = 0;
  for (const auto& key : result.keys) kept += !key.renamed;
  if (format == "json") {
    nlohmann::ordered_json out;
    out["plan"] = plan->name;
    out["sources"] = inputs;
    out["output"] = dry_run ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(output);
    out["tensors"] = nlohmann::ordered_json::array();
    for (const auto& key : result.keys) out["tensors"].push_back({{"name", key.name}, {"from", input.tensors[key.input].name}});
    auto pairs = [](const auto& list, const char* a, const char* b) {
      auto array = nlohmann::ordered_json::array();
      for (const auto& [x, y] : list) array.push_back({{a, x}, {b, y}});
      return array;
    };
    out["kept"] = kept;
    out["prefix_steps"] = nlohmann::ordered_json::array();
    for (const auto& [step_text, changed] : result.prefix_steps) out["prefix_steps"].push_back({{"step", step_text}, {"changed", changed}});
    out["renamed"] = pairs(result.renamed, "from", "to");
    out["copied"] = pairs(result.copied, "from", "to");
    out["dropped"] = pairs(result.dropped, "tensor", "rule");
    out["surgery"] = nlohmann::ordered_json::array();
    for (const auto& record : result.surgery)
      out["surgery"].push_back({{"step", record.verb}, {"from", record.from}, {"to", record.to}});
    out["transformed"] = nlohmann::ordered_json::array();
    for (const auto& key : result.keys)
      for (const auto& action : key.actions)
        out["transformed"].push_back(
            {{"tensor", key.name}, {"action", action.step->verb + " " + action.step->action}, {"shape", action.to}});
    out["skipped_mismatched"] = nlohmann::ordered_json::array();
    for (const auto& m : result.skipped)
      out["skipped_mismatched"].push_back({{"tensor", m.name}, {"source_shape", m.source_shape}, {"target_shape", m.target_shape}});
    out["not_in_target"] = result.not_in_target;
    out["missing"] = result.missing;
    out["unexpected"] = result.unexpected;
    out["strict"] = result.strict;
    out["strict_load_fails"] = result.strict_load_fails;
    std::cout << out.dump(2) << "\n";
  } else {
    std::string text = fmt::format("plan {} on {}{}\n", plan->name, fmt::join(inputs, ", "),
                                   target.empty() ? "" : fmt::format(" for {}", target));
    auto section = [&](std::string_view title, std::size_t count, const std::function<std::string(std::size_t)>& line) {
      text += fmt::format("  {:<14}{:>6}\n", title, count);
      std::size_t shown = list_all ? count : std::min<std::size_t>(count, 10);
      for (std::size_t i = 0; i < shown; ++i) text += "      " + line(i) + "\n";
      if (shown < count) text += fmt::format("      ... and {} more (--all lists them)\n", count - shown);
    };
    for (const auto& [step_text, changed] : result.prefix_steps) text += fmt::format("  {:<14}{:>6}  keys changed by `{}`\n", "prefix", changed, step_text);
    text += fmt::format("  {:<14}{:>6}\n", "kept", kept);
    section("renamed", result.renamed.size(), [&](std::size_t i) { return result.renamed[i].first + " -> " + result.renamed[i].second; });
    section("copied", result.copied.size(), [&](std::size_t i) { return result.copied[i].first + " -> " + result.copied[i].second; });
    section("dropped", result.dropped.size(),
            [&](std::size_t i) { return fmt::format("{}  (by `{}`)", result.dropped[i].first, result.dropped[i].second); });
    for (std::string_view verb : {"split", "fuse", "stack", "unstack"}) {
      std::vector<std::string> lines;
      for (const auto& record : result.surgery)
        if (record.verb == verb) lines.push_back(fmt::format("{} -> {}", abbreviated(record.from), abbreviated(record.to)));
      if (!lines.empty())
        section(verb == "split" ? "split" : verb == "fuse" ? "fused" : verb == "stack" ? "stacked" : "unstacked", lines.size(),
                [&](std::size_t i) { return lines[i]; });
    }
    std::vector<std::string> transformed;
    for (const auto& key : result.keys)
      for (const auto& action : key.actions)
        transformed.push_back(fmt::format("{}  `{} {}` {} -> {}", key.name, action.step->verb, action.step->action,
                                          shape_text(action.from), shape_text(action.to)));
    section("transformed", transformed.size(), [&](std::size_t i) { return transformed[i]; });
    section("skipped", result.skipped.size(), [&](std::size_t i) {
      const auto& m = result.skipped[i];
      return fmt::format("{}  {} here, {} in the target", m.name, shape_text(m.source_shape), shape_text(m.target_shape));
    });
    section("not in target", result.not_in_target.size(), [&](std::size_t i) { return result.not_in_target[i]; });
    if (target_table) {
      section("missing", result.missing.size(), [&](std::size_t i) { return result.missing[i]; });
      section("unexpected", result.unexpected.size(), [&](std::size_t i) { return result.unexpected[i]; });
    }
    text += fmt::format("result: {} tensors", result.keys.size());
    if (target_table)
      text += result.strict ? (result.strict_load_fails ? "; a strict load would fail" : "; a strict load succeeds")
                            : "; loads with strict = false";
    text += dry_run ? " (dry run: nothing written)\n"
                    : result.strict_load_fails ? " (nothing written)\n"
                                               : fmt::format(" -> {}\n", output);
    std::cout << text;
  }
  std::cout.flush();
  if (result.strict_load_fails) {
    std::cerr << fmt::format("error[{}]: a strict load would fail: {} missing, {} unexpected; nothing was written\n"
                             " = hint: add `load strict = false` to the plan, or steps that produce the missing keys\n",
                             code::plan_strict_fails, result.missing.size(), result.unexpected.size());
    return kAnswerNo;
  }
  if (dry_run) return kDone;

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
  std::vector<std::pair<std::string, std::string>> metadata;
  for (const auto& checkpoint : sources)
    if (!checkpoint.metadata.empty()) {
      metadata = checkpoint.metadata;
      break;
    }
  metadata.emplace_back("taxon.plan", plan->name);
  metadata.emplace_back("taxon.plan_fnv1a", fnv1a(rules.source->text));
  metadata.emplace_back("taxon.sources", fmt::format("{}", fmt::join(inputs, ",")));
  uint64_t total = 0;
  for (const auto& tensor : tensors) total += tensor.data->nbytes();
  bool show_progress = total > kProgressAbove && ::isatty(STDERR_FILENO);
  auto progress = [&](uint64_t done, uint64_t all) {
    if (show_progress) std::cerr << fmt::format("\rwriting {}: {:3}%", output, all ? done * 100 / all : 100) << std::flush;
  };
  if (output.ends_with(".safetensors")) {
    write_safetensors(output, tensors, metadata, progress);
    for (const auto& checkpoint : sources)
      if (!checkpoint.state_dict_path.empty())
        std::cerr << fmt::format("note: {} holds more than the state dict; safetensors keeps tensors only, so the rest "
                                 "(epoch, config, optimizer, ...) is not in {}\n",
                                 checkpoint.path, output);
  } else {
    // .pt: a nested torch checkpoint keeps everything else, with its state dict replaced in place.
    PyRef state_dict = state_dict_value(tensors);
    PyRef root = state_dict;
    if (sources.size() == 1 && sources[0].root && sources[0].state_dict_path.size() == 1)
      if (const PyDict* original = as_dict(sources[0].root)) {
        PyDict copy = *original;
        for (auto& [key, value] : copy.items)
          if (const std::string* name = as_string(key); name && *name == sources[0].state_dict_path[0]) value = state_dict;
        root = std::make_shared<PyValue>(PyValue{std::move(copy), sources[0].root->depth});
      }
    write_torch(output, root, progress);
  }
  if (show_progress) std::cerr << "\n";
  return kDone;
}

}  // namespace taxon::cli
