// `taxon apply PLAN CKPT... --target T -o OUT`: adapt checkpoints to a model.
#include "tools/apply_command.hpp"

#include <charconv>
#include <iostream>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/input_error.hpp"
#include "taxon/taxon.hpp"
#include "tools/cli_common.hpp"
#include "tools/terminal_colour.hpp"
#include "tools/cli_inputs.hpp"

namespace taxon::cli {
namespace {

constexpr uint64_t kProgressAbove = 256ull << 20;  // show progress for outputs over 256 MiB on a terminal

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
      "Across machines (a Slurm array, examples/slurm/convert.sbatch): --shard I/N writes only the\n"
      "safetensors shards of part I of N (shard s goes to part s mod N + 1), each atomically; any\n"
      "order, any machine, rerun at will. Then --join, with the same arguments, checks that every\n"
      "shard is there and writes the index. The result equals one run's, byte for byte.\n"
      "  taxon apply plans.tx hf/model.safetensors.index.json -o out/model.safetensors --max-shard-size 5GB --shard 3/8\n"
      "  taxon apply plans.tx hf/model.safetensors.index.json -o out/model.safetensors --max-shard-size 5GB --join\n"
      "--jobs N does the same on this machine: N threads, a part each, then the index.\n"
      "\n"
      "Exit status: 0 done; 1 the load would fail (nothing written); 2 the plan, an input or the\n"
      "output could not be read or written (nothing written).");
  command->add_option("PLAN", plan_file, "Rule file (.tx, .yaml) holding the plan, or - for standard input")->required();
  add_lang_option(command, lang);
  add_param_option(command, parameters);
  command->add_option("CHECKPOINTS", checkpoints,
                      "Checkpoints to read (merged in order); optional when the rules name one (anemoi's source)");
  command->add_option("--plan", plan_name, "Which plan, when the file holds several");
  command->add_option("--target", target, "The model to load into: a model dump (.json), a checkpoint, or - for a dump on standard input");
  command->add_option("-o,--output", output, "Output checkpoint: .safetensors, or .pt/.pth/.bin/.ckpt (torch.save's zip format)");
  command->add_option("--source", source, "Entry of a torch checkpoint that holds the state dict (overrides `from`)");
  command->add_option("--format", format, "Report format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  command->add_flag("--dry-run", dry_run, "Report what the plan would do; write nothing");
  command->add_flag("--force", force, "Overwrite an existing output");
  command->add_flag("--all", list_all, "List every name in the text report");
  command->add_flag("--state-dict-only", state_dict_only,
                    "For a .pt output of a nested checkpoint: write the state dict alone, without epoch, config, ...");
  command->add_option("--max-shard-size", max_shard_size,
                      "Split the output into shards of at most this size, in Hugging Face's layout (5GB, 500MB, 2GiB)");
  command->add_option("--shard", shard, "Write only part I of N of a sharded .safetensors output: I/N (e.g. 2/8)");
  command->add_flag("--join", join, "Write the index of a sharded output once every part's shards are there");
  command->add_option("--jobs", jobs, "Write a sharded .safetensors output with this many threads, a part each")
      ->check(CLI::Range(1, 256));
  command->add_flag("--keep-objects", keep_objects,
                    "For a .pt output: write back objects of classes taxon does not know (left out otherwise)");
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int ApplyCommand::run() const {
  if (!dry_run && output.empty()) throw CLI::RequiredError("-o/--output (or --dry-run)");
  if (!max_shard_size.empty() && output.empty())
    throw CLI::RequiredError("-o/--output (--max-shard-size names how to split it)");
  ApplyOptions options;
  options.plan = plan_name;
  options.checkpoints = checkpoints;
  options.target_name = target == "-" ? "<stdin>" : target;
  options.source = source;
  options.output = output;
  options.overwrite = force;
  options.state_dict_only = state_dict_only;
  options.keep_objects = keep_objects;
  options.max_shard_size = max_shard_size;
  options.list_all = list_all;
  options.join = join;
  options.jobs = jobs;
  if (!shard.empty()) {
    std::size_t slash = shard.find('/');
    auto number = [&](std::string_view text) -> std::size_t {
      std::size_t value = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size() || text.empty())
        throw CLI::ValidationError("--shard", fmt::format("\"{}\" is not I/N (part I of N, e.g. 2/8)", shard));
      return value;
    };
    if (slash == std::string::npos) number("");
    options.part = number(std::string_view(shard).substr(0, slash));
    options.parts = number(std::string_view(shard).substr(slash + 1));
  }
  if ((options.parts || join) && dry_run) throw CLI::ValidationError("--shard/--join", "write files; leave out --dry-run");
  // The output is checked before the rules are read: a wrong path costs nothing.
  check_output(options);
  check_one_stdin({plan_file, target});
  Rules rules = read_rules(plan_file, lang, parameters);
  if (!rules.ok()) {
    std::cerr << paint_diagnostics(render_findings(rules.findings(), 5), 2);
    return kCouldNot;
  }
  if (!target.empty()) options.target = read_model(target);
  Application application = plan_application(rules, options);
  if (!application.ok()) {
    std::cerr << paint_diagnostics(render_findings(application.findings(), 5), 2);
    return kCouldNot;
  }
  auto render = [&]() { return format == "json" ? application.json() : application.text(); };
  if (application.load_fails()) {
    std::cout << render() << std::flush;
    std::cerr << paint_diagnostics(fmt::format("error[{}]: the load would fail: {}; nothing was written\n",
                                               code::plan_load_fails, fmt::join(application.reasons(), "; ")),
                                   2);
    if (!application.hint().empty()) std::cerr << paint_diagnostics(fmt::format(" = hint: {}\n", application.hint()), 2);
    return kAnswerNo;
  }
  if (dry_run) {
    std::cout << render() << std::flush;
    return kDone;
  }
  bool terminal = ::isatty(STDERR_FILENO), shown = false;
  auto progress = [&](uint64_t done, uint64_t all) {
    if (!terminal || all <= kProgressAbove) return;
    std::cerr << fmt::format("\rwriting {}: {:3}%", output, all ? done * 100 / all : 100) << std::flush;
    shown = true;
  };
  application.write(output, progress);
  if (shown) std::cerr << "\n";
  std::cout << render() << std::flush;
  for (const auto& note : application.notes()) std::cerr << note << "\n";
  return kDone;
}

}  // namespace taxon::cli
