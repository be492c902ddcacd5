// plan_application() and Application: `taxon apply`'s pipeline (read, plan,
// verdict, materialize, write) as a library call, for the command line, the
// trainer and the Python bindings alike (include/taxon/taxon.hpp).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "api/apply_report.hpp"
#include "api/internal.hpp"
#include "api/sharded_parts.hpp"
#include "engine/parallel_parts.hpp"
#include "engine/plans/plan.hpp"
#include "engine/plans/tensor_actions.hpp"
#include "runtime/actions.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/dtype.hpp"
#include "runtime/materialize.hpp"

namespace taxon {
namespace {

std::string fnv1a(std::string_view text) {  // a stable fingerprint of the plan's source, for provenance
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", hash);
}

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

struct Output {
  std::string path;
  bool to_pt = false, write_nested = false;
  std::optional<uint64_t> shard_bytes;
  std::vector<std::vector<std::string>> leave_out;
  std::vector<std::string> not_held;  // what a .safetensors output (or a sharded .bin) cannot hold
  std::vector<std::string> notes;
  std::vector<ApplyReport::LeftOut> left_out;
};

}  // namespace

struct Application::Impl {
  std::shared_ptr<const Rules::Impl> rules;
  const CheckpointPlan* plan = nullptr;
  ApplyOptions options;
  std::vector<std::string> inputs;
  MergedCheckpoints merged;
  std::optional<TensorTable> target;
  PlanResult result;
  Output output;
  ApplyReport report;  // points into this Impl, which never moves (held by shared_ptr)

  // Makes the result's tensors in order (those `wanted` accepts, when given), each passed to `each`
  // as it is made; a tensor several keys share is made once. An action that fails names its key.
  using EachMade = std::function<void(const PlannedKey&, std::shared_ptr<const TensorData>)>;

  // The planned keys `wanted` accepts (all without it), in the plan's order.
  void make_tensors(const std::function<bool(std::string_view)>& wanted, const EachMade& each) const {
    make_keys(result.keys, wanted, each);
  }

  // The planned keys at `rows`, in that order (one shard's).
  void make_rows(const std::vector<std::size_t>& rows, const EachMade& each) const {
    std::vector<PlannedKey> keys;
    keys.reserve(rows.size());
    for (std::size_t row : rows) keys.push_back(result.keys[row]);
    make_keys(keys, nullptr, each);
  }

  // A tensor that several keys share (a split's parent) is made once among `keys` and freed after
  // the last of them.
  void make_keys(const std::vector<PlannedKey>& keys, const std::function<bool(std::string_view)>& wanted,
                 const EachMade& each) const {
    Materializer materializer(keys, [this](std::size_t row) -> const TensorData& { return merged.data(row); });
    for (const auto& key : keys) {
      if (wanted && !wanted(key.name)) continue;
      std::shared_ptr<const TensorData> made;
      try {
        made = materializer.make(key);
      } catch (const InputError& error) {
        throw InputError(error.code(), fmt::format("{}: {}", key.name, error.what()));
      }
      each(key, std::move(made));
    }
  }

  // What writing to `path` leaves out, and the notes that say so: a function of the output's format.
  void prepare_output(const std::string& path) {
    output = Output{};
    output.path = path;
    report.left_out.clear();
    if (path.empty()) return;
    const std::vector<Checkpoint>& sources = merged.sources;
    bool sharding = !options.max_shard_size.empty();
    if (sharding) output.shard_bytes = parse_shard_size(options.max_shard_size);
    output.to_pt = !path.ends_with(".safetensors");
    const Checkpoint& first = sources.front();
    bool nested = sources.size() == 1 && first.root && !first.state_dict_path.empty();
    // A .pt output of a nested checkpoint keeps its other entries, less those the plan made stale.
    output.write_nested = output.to_pt && nested && !options.state_dict_only && !sharding;
    if (output.write_nested && reshuffles(result)) {
      std::vector<std::string> positional = positional_entries(first.root);
      for (const auto& name : positional) {
        output.leave_out.push_back({name});
        report.left_out.push_back({name, "refers to parameters by position"});
      }
      if (!positional.empty())
        output.notes.push_back(fmt::format("note: {} left out of {}: {} refer{} to parameters by position, and the plan "
                                           "changed which tensors there are; --state-dict-only writes the state dict alone",
                                           fmt::join(positional, ", "), path, positional.size() == 1 ? "it" : "they",
                                           positional.size() == 1 ? "s" : ""));
    }
    if (output.write_nested && !options.keep_objects) {
      std::vector<std::string> named;
      for (const auto& object : leave_out_objects(first, output.leave_out)) {
        report.left_out.push_back({object.entry, object.reason});
        named.push_back(fmt::format("{} ({})", object.entry, object.types));
      }
      if (!named.empty())
        output.notes.push_back(fmt::format("note: left out of {}: {}: objects of classes taxon does not know, which it never "
                                           "runs and so does not vouch for; --keep-objects writes them back",
                                           path, fmt::join(named, ", ")));
    }
    if (!output.to_pt || sharding)
      for (const auto& checkpoint : sources)
        if (!checkpoint.state_dict_path.empty()) {
          for (const auto& name : top_level_entries(checkpoint.root))
            if (name != checkpoint.state_dict_path.front() &&
                std::find(output.not_held.begin(), output.not_held.end(), name) == output.not_held.end())
              output.not_held.push_back(name);
          output.notes.push_back(fmt::format(
              "note: {} holds more than the state dict; {}, so the rest (epoch, config, optimizer, ...) is not in {}{}",
              checkpoint.path, output.to_pt ? "a sharded checkpoint's shards are state dicts" : "safetensors keeps tensors only",
              path, output.to_pt ? "" : "; its metadata names what was left out (taxon.left_out)"));
        }
    if (!output.to_pt)
      for (const auto& key : result.keys)
        if (auto dtype = dtype_from_name(key.recipe->dtype); dtype && !safetensors_code(*dtype))
          throw InputError(code::unsupported_input,
                           fmt::format("{}: tensor \"{}\" is {}, which safetensors cannot hold; write .pt instead", path,
                                       key.name, key.recipe->dtype));
  }
};

// Parts of a sharded output: a .safetensors output split by max_shard_size; its existing files are
// the other parts', and are replaced (each part's own) or read (by join), never refused.
bool writes_parts(const ApplyOptions& options) {
  auto refuse = [](const std::string& why) { return InputError(code::usage, why); };
  if (options.jobs > 1 && (options.max_shard_size.empty() || !options.output.ends_with(".safetensors")))
    throw refuse("--jobs writes the shards of a sharded .safetensors output in parallel: give --max-shard-size and a "
                 ".safetensors output");
  if (!options.parts && !options.part && !options.join) return false;
  if (options.max_shard_size.empty()) throw refuse("--shard and --join split an output: give --max-shard-size too");
  if (!options.output.ends_with(".safetensors")) throw refuse("--shard and --join write safetensors shards: name a .safetensors output");
  if (options.join && options.part) throw refuse("--join writes the index after the parts: run it without --shard");
  if (!options.join && (options.parts == 0 || options.part == 0 || options.part > options.parts))
    throw refuse(fmt::format("--shard {}/{}: the part is a number from 1 to the number of parts (1/4 ... 4/4)", options.part,
                             options.parts));
  return true;
}

void check_output(const ApplyOptions& options) {
  translating_errors([&] {
    bool sharding = !options.max_shard_size.empty();
    if (sharding) parse_shard_size(options.max_shard_size);
    bool parts = writes_parts(options);
    if (!options.output.empty()) check_output(options.output, options.checkpoints, options.overwrite || parts, sharding);
  });
}

Application plan_application(const Rules& rules, const ApplyOptions& options) {
  return translating_errors([&] {
    Application application;
    auto impl = std::make_shared<Application::Impl>();
    application.impl = impl;
    impl->rules = rules.shared_impl();
    impl->options = options;
    bool sharding = !options.max_shard_size.empty();
    if (sharding) parse_shard_size(options.max_shard_size);  // a bad size is a usage error before anything is read
    if (writes_parts(options)) impl->options.overwrite = true;  // the other parts' files are expected there
    if (!options.output.empty()) check_output(options.output, options.checkpoints, impl->options.overwrite, sharding);
    const RuleFile& file = impl->rules->file;
    if (file.diagnostics.has_errors()) throw Error("T0102", "the rules have errors; see Rules::findings()");
    std::vector<std::string> names;
    impl->plan = find_plan(file, options.plan, names);
    const std::string& path = impl->rules->path;
    if (!impl->plan) {
      if (names.empty()) throw InputError(code::no_plan, fmt::format("{} holds no `plan` block", path));
      if (options.plan.empty())
        throw InputError(code::no_plan, fmt::format("{} holds the plans {}; choose one with --plan NAME", path, fmt::join(names, ", ")));
      std::string closest = closest_match(options.plan, names);
      throw InputError(code::no_plan, fmt::format("{} has no plan named '{}'{}; its plans: {}", path, options.plan,
                                                  closest.empty() ? "" : fmt::format(" (did you mean '{}'?)", closest),
                                                  fmt::join(names, ", ")));
    }
    impl->inputs = options.checkpoints;
    if (impl->inputs.empty() && impl->plan->checkpoint_path) {
      impl->inputs.push_back(*impl->plan->checkpoint_path);
      if (!options.output.empty()) check_output(options.output, impl->inputs, impl->options.overwrite, sharding);
    }
    if (impl->inputs.empty()) throw InputError(code::usage, "no checkpoint given, and the plan names none (CHECKPOINTS)");

    ReadOptions read_options;
    if (!impl->plan->sources.empty()) read_options.source_order = impl->plan->sources;
    if (!options.source.empty()) read_options.source = options.source;
    impl->merged = read_merged_checkpoints(impl->inputs, read_options);
    if (options.target) impl->target = options.target->impl().table;
    const TensorTable& input = impl->merged.table;
    std::vector<std::string> labels;  // "name (in file)", for messages about merged sources
    if (impl->inputs.size() > 1)
      for (std::size_t row = 0; row < input.tensors.size(); ++row)
        labels.push_back(fmt::format("{} (in {})", input.tensors[row].name, impl->inputs[impl->merged.origin[row].first]));
    impl->result = run_plan(*impl->plan, input, impl->target ? &*impl->target : nullptr, labels);
    impl->report = ApplyReport{impl->plan->name, impl->inputs, options.target ? options.target_name : std::string(), {},
                               &impl->merged.table, &impl->result, {}, options.list_all};
    if (impl->result.diagnostics.has_errors()) return application;
    if (uses_library(impl->result)) require_actions_library();  // a dry run promises what the real run can do
    impl->prepare_output(options.output);
    return application;
  });
}

bool Application::ok() const { return !impl->result.diagnostics.has_errors(); }
bool Application::load_fails() const { return impl->result.verdict.load_fails; }
std::vector<std::string> Application::reasons() const { return impl->result.verdict.reasons; }
std::string Application::hint() const { return impl->result.verdict.hint; }
std::vector<Finding> Application::findings() const { return to_findings(impl->result.diagnostics.items()); }
std::vector<std::string> Application::notes() const { return impl->output.notes; }
PlanOutcome Application::outcome() const {
  const PlanResult& result = impl->result;
  PlanOutcome out;
  for (const auto& key : result.keys) out.keys.push_back(key.name);
  for (const auto& [from, to] : result.renamed) out.renamed.push_back({from, to});
  for (const auto& [from, to] : result.copied) out.copied.push_back({from, to});
  for (const auto& [added, shared] : result.tied) out.tied.push_back({shared, added});
  for (const auto& dropped : result.dropped) out.dropped.push_back(dropped.first);
  for (const auto& record : result.surgery) out.made.insert(out.made.end(), record.to.begin(), record.to.end());
  for (const auto& m : result.skipped) out.skipped.push_back({m.name, m.source_shape, m.target_shape});
  for (const auto& m : result.mismatched) out.mismatched.push_back({m.name, m.source_shape, m.target_shape});
  out.missing = result.missing;
  out.unexpected = result.unexpected;
  out.not_in_target = result.not_in_target;
  out.loaded = result.verdict.loaded;
  out.strict = result.strict;
  return out;
}

void Application::for_each_tensor(const std::function<void(const TensorView&)>& each,
                                  const std::function<bool(std::string_view)>& wanted) const {
  translating_errors([&] {
    if (!ok()) throw Error("T0102", "the plan has errors; see Application::findings()");
    std::vector<uint8_t> gathered;  // a strided view's elements, row-major
    impl->make_tensors(wanted, [&](const PlannedKey& key, std::shared_ptr<const TensorData> made) {
      const uint8_t* bytes = made->contiguous_data();
      if (!bytes && made->nbytes() > 0) {
        gathered = made->contiguous_bytes();
        bytes = gathered.data();
      }
      std::string dtype(dtype_name(made->dtype));
      each(TensorView{key.name, made->shape, dtype,
                      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes), made->nbytes())});
    });
  });
}

std::string Application::text() const { return apply_report_text(impl->report); }
std::string Application::json() const { return apply_report_json(impl->report); }

std::vector<std::string> Application::write(const std::string& path, const Progress& progress) {
  return translating_errors([&] {
    if (!ok()) throw Error("T0102", "the plan has errors; see Application::findings()");
    if (load_fails()) throw Error(std::string(code::plan_load_fails), "the load would fail; nothing was written");
    std::string output = path.empty() ? impl->options.output : path;
    if (output.empty()) throw Error(std::string(code::usage), "no output named");
    if (output != impl->output.path) {
      check_output(output, impl->inputs, impl->options.overwrite, impl->output.shard_bytes.has_value() ||
                                                                      !impl->options.max_shard_size.empty());
      impl->prepare_output(output);
    }
    MakeTensors make = [&](const auto& rows, const auto& each) { impl->make_rows(rows, each); };
    auto write_parts_in_threads = [&](const ShardLayout& layout, std::size_t jobs, const Metadata& metadata) {
      run_parts(jobs, [&](std::size_t i) { write_shard_part(layout, i + 1, jobs, metadata, make); });  // parts count from 1
      return join_shard_parts(layout, jobs);
    };
    // What an earlier save left that this one did not replace (more shards, an index now unneeded)
    // would be taken for part of the checkpoint: removed once the new files are all in place.
    auto remove_leftovers = [](const std::vector<std::string>& earlier, const std::vector<std::string>& written) {
      for (const auto& file : earlier)
        if (std::find(written.begin(), written.end(), file) == written.end()) std::filesystem::remove(file);
    };
    auto output_metadata = [&] {
      std::vector<std::pair<std::string, std::string>> metadata;
      for (const auto& checkpoint : impl->merged.sources)
        if (!checkpoint.metadata.empty()) {
          metadata = checkpoint.metadata;
          break;
        }
      metadata.emplace_back("taxon.plan", impl->plan->name);
      metadata.emplace_back("taxon.plan_fnv1a", fnv1a(impl->rules->file.source->text));
      metadata.emplace_back("taxon.sources", fmt::format("{}", fmt::join(impl->inputs, ",")));
      if (!impl->output.not_held.empty())
        metadata.emplace_back("taxon.left_out", fmt::format("{}", fmt::join(impl->output.not_held, ",")));
      return metadata;
    };
    const Output& out = impl->output;
    const MergedCheckpoints& merged = impl->merged;
    const ApplyOptions& options = impl->options;
    if (out.shard_bytes && !out.to_pt && (options.jobs > 1 || options.parts || options.join)) {
      ShardLayout layout = plan_shard_layout(output, *out.shard_bytes, impl->result.keys);
      std::vector<std::string> written;
      if (options.join) {
        written = join_shard_parts(layout, options.parts);
      } else if (options.parts) {
        written = write_shard_part(layout, options.part, options.parts, output_metadata(), make);
      } else {
        std::vector<std::string> earlier = checkpoint_files_at(output);  // overwrite was allowed, or there are none
        written = write_parts_in_threads(layout, options.jobs, output_metadata());
        remove_leftovers(earlier, written);
      }
      if (!written.empty()) impl->report.output = written.back();
      return written;
    }
    std::vector<OutputTensor> tensors;
    std::vector<std::shared_ptr<const TensorData>> made;  // alive until written
    impl->make_tensors({}, [&](const PlannedKey& key, std::shared_ptr<const TensorData> tensor) {
      made.push_back(std::move(tensor));
      tensors.push_back({key.name, made.back().get()});
    });
    std::vector<std::pair<std::string, std::string>> metadata;
    if (!out.to_pt) metadata = output_metadata();
    std::vector<std::string> written;
    if (out.shard_bytes) {
      std::vector<std::string> earlier = checkpoint_files_at(output);  // overwrite was allowed, or there are none
      written = write_sharded(output, *out.shard_bytes, tensors, metadata, progress);
      remove_leftovers(earlier, written);
      if (written.size() > 1)
        impl->output.notes.push_back(fmt::format("note: {} shards and their index {}", written.size() - 1, written.back()));
    } else if (!out.to_pt) {
      write_safetensors(output, tensors, metadata, progress);
      written.push_back(output);
    } else {
      PyRef state_dict = state_dict_value(tensors);
      const Checkpoint& first = merged.sources.front();
      write_torch(output,
                  out.write_nested ? nested_root(first.root, first.state_dict_path, state_dict, out.leave_out) : state_dict,
                  progress);
      written.push_back(output);
    }
    impl->report.output = written.back();
    return written;
  });
}

}  // namespace taxon
