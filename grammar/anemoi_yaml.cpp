// anemoi-core's checkpoint configuration, in its generations (docs/rules-yaml.md,
// anemoi YAML), lowered to one ordered program: the load as the plan
// `anemoi_load` (anemoi's chunking migration and data-statistics refresh
// first, where anemoi applies them), and each freezing list as a `freeze`
// selection whose paths resolve as that generation resolves them
// (engine/module_paths.hpp).
#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon::yaml {
namespace {

// Every `_target_` taxon reads, by the exact import paths anemoi-core (2cb9b6e1) defines or
// re-exports (checkpoint/loading, modifiers and sources __init__.py; RunSource from PR #1196's
// branch at 8f4c4930): Hydra imports the path as
// written, so `anemoi.training.checkpoint.WeightsOnlyLoader` would fail in anemoi too. The
// train.modify classes are the model_modifier prototype's (generation B), never on main.
struct KnownTarget {
  std::string_view path, cls;
};
constexpr KnownTarget kTargets[] = {
    {"anemoi.training.train.modify.FreezingModelModifier", "FreezingModelModifier"},
    {"anemoi.training.train.modify.TransferLearningModelModifier", "TransferLearningModelModifier"},
    {"anemoi.training.checkpoint.modifiers.freezing.FreezingModifierStage", "FreezingModifierStage"},
    {"anemoi.training.checkpoint.modifiers.FreezingModifierStage", "FreezingModifierStage"},
    {"anemoi.training.checkpoint.loading.strategies.WeightsOnlyLoader", "WeightsOnlyLoader"},
    {"anemoi.training.checkpoint.loading.WeightsOnlyLoader", "WeightsOnlyLoader"},
    {"anemoi.training.checkpoint.loading.strategies.TransferLearningLoader", "TransferLearningLoader"},
    {"anemoi.training.checkpoint.loading.TransferLearningLoader", "TransferLearningLoader"},
    {"anemoi.training.checkpoint.loading.strategies.WarmStartLoader", "WarmStartLoader"},
    {"anemoi.training.checkpoint.loading.WarmStartLoader", "WarmStartLoader"},
    {"anemoi.training.checkpoint.loading.strategies.ColdStartLoader", "ColdStartLoader"},
    {"anemoi.training.checkpoint.loading.ColdStartLoader", "ColdStartLoader"},
    {"anemoi.training.checkpoint.sources.local.LocalSource", "LocalSource"},
    {"anemoi.training.checkpoint.sources.run.RunSource", "RunSource"},  // #1196
    {"anemoi.training.checkpoint.sources.RunSource", "RunSource"},
    {"anemoi.training.checkpoint.sources.LocalSource", "LocalSource"},
    {"anemoi.training.checkpoint.sources.s3.S3Source", "S3Source"},
    {"anemoi.training.checkpoint.sources.S3Source", "S3Source"},
    {"anemoi.training.checkpoint.sources.http.HTTPSource", "HTTPSource"},
    {"anemoi.training.checkpoint.sources.HTTPSource", "HTTPSource"},
};

// One path per class (the module that defines it), for the list of what taxon understands.
std::vector<std::string> known_paths() {
  std::vector<std::string> paths;
  std::vector<std::string_view> classes;
  for (const auto& known : kTargets) {
    if (std::find(classes.begin(), classes.end(), known.cls) != classes.end()) continue;
    classes.push_back(known.cls);
    paths.emplace_back(known.path);
  }
  return paths;
}

// The class a _target_ names, when it is one taxon knows by that exact path.
std::string known_class(const std::string& target) {
  for (const auto& known : kTargets)
    if (known.path == target) return std::string(known.cls);
  return {};
}

// The keys of anemoi's `training` config group that taxon reads. A Hydra group file
// (config/training/*.yaml) holds them at the top, without the `training:` wrapper.
constexpr std::string_view kTrainingKeys[] = {"checkpoint",        "checkpoint_pipeline", "model_modifier",
                                              "transfer_learning", "load_weights_only",   "submodules_to_freeze"};

bool holds_training_keys(const YAML::Node& map) {
  for (std::string_view key : kTrainingKeys)
    if (Reader::get(map, key).IsDefined()) return true;
  return false;
}

// update_ds_stats_on_ckpt_load: which of the checkpoint's processor statistics the current
// dataset's replace (UpdateDsStatsOnCkptLoadSchema's defaults: tendencies only).
struct StatisticsRefresh {
  bool states = false, tendencies = true;
};

// anemoi-training's version, where the config says (`anemoi_version`, taxon's own key): before
// 0.15 (PR #1159) submodules_to_freeze named modules at any depth from the LightningModule.
struct Version {
  int major = 0, minor = 0;
  bool before(int want_major, int want_minor) const {
    return major < want_major || (major == want_major && minor < want_minor);
  }
};

// anemoi's state-dict keys are the LightningModule's: the network is `model.model`.
constexpr std::string_view kInnerNetwork = "model.model";

class Anemoi {
 public:
  Anemoi(Reader& reader, Program& program, std::vector<CheckpointPlan>* plans) : reader_(reader), program_(program), plans_(plans) {}

  void read_version(const YAML::Node& root) {
    YAML::Node node = Reader::get(root, "anemoi_version");
    if (!node.IsDefined() || node.IsNull()) return;
    std::string text = node.IsScalar() ? node.Scalar() : std::string();
    Version version;
    char dot = 0;
    std::istringstream in(text);
    if (!(in >> version.major >> dot >> version.minor) || dot != '.') {
      reader_.diagnostics().error(code::wrong_value_type, reader_.span(node),
                                  fmt::format("anemoi_version must be a version such as \"0.14.0\", not {}", describe(node)),
                                  "write the anemoi-training version the config is for: `anemoi_version: \"0.14.0\"`");
      return;
    }
    version_ = version;
  }

  void read_refresh(const YAML::Node& training) {
    YAML::Node node = Reader::get(training, "update_ds_stats_on_ckpt_load");
    refresh_span_ = node.IsDefined() ? reader_.key_span(training, "update_ds_stats_on_ckpt_load") : reader_.key_span(training, "");
    if (!node.IsDefined()) return;
    if (node.IsNull()) {  // the pipeline reads it with getattr(..., None): nothing is refreshed
      refresh_ = StatisticsRefresh{false, false};
      refresh_null_ = true;
      return;
    }
    refresh_.states = flag(node, "states", false);
    refresh_.tendencies = flag(node, "tendencies", true);
  }

  // submodules_to_freeze, resolved as `semantics` says, under the first of `roots` the model has.
  void freeze(const YAML::Node& names, bool strict, PathSemantics semantics, std::vector<std::string> roots) {
    if (names.IsNull()) {
      reader_.diagnostics().error(code::wrong_value_type, reader_.span(names),
                                  "submodules_to_freeze is null, which anemoi cannot iterate (TypeError: 'NoneType' object is "
                                  "not iterable)",
                                  "write `submodules_to_freeze: []` to freeze nothing");
      return;
    }
    auto paths = reader_.string_list(names, "submodules_to_freeze");
    if (!paths || paths->empty()) return;  // anemoi: an empty list is a no-op
    ModuleUnder under{*paths, strict, semantics, std::move(roots), strict};
    for (const auto& item : names) under.spans.push_back(reader_.span(item));
    std::string name = freezes_ == 0 ? "freeze" : fmt::format("freeze_{}", freezes_ + 1);
    ++freezes_;
    SourceSpan span = reader_.span(names);
    program_.selections.push_back(Selection{name, Predicate{std::move(under), span}, Universe::parameters, span, true});
  }

  // The legacy trainer's freezing (train.py): from training 0.15 exact paths under the inner
  // network, walked by named_children(); before, a name at any depth from the LightningModule.
  void legacy_freeze(const YAML::Node& names) {
    if (version_ && version_->before(0, 15)) freeze(names, false, PathSemantics::anemoi_any_depth, {});
    else freeze(names, false, PathSemantics::anemoi_legacy, {std::string(kInnerNetwork)});
  }

  // The plan `anemoi_load`: anemoi's state-dict lookup, exact keys, then `steps`.
  void load_plan(const SourceSpan& span, std::optional<std::string> path, std::vector<PlanStep> steps) {
    if (!plans_) return;
    CheckpointPlan plan;
    plan.name = "anemoi_load";
    plan.span = span;
    plan.checkpoint_path = std::move(path);
    plan.sources = {"state_dict", "model_state_dict", "model", ""};
    plan.steps = std::move(steps);
    plans_->push_back(std::move(plan));
  }

  // What anemoi does to a checkpoint before any load (LoadingStrategy._apply_format_migrations,
  // utils.checkpoint.transfer_learning_loading): the chunked processor of anemoi-models < 0.11
  // (processor.proc.C.blocks.B) becomes one list (processor.proc.N). stdlib/anemoi/checkpoint.tx
  // writes the same step; tests/api/anemoi_core_test.cpp checks that the two agree.
  static PlanStep chunking_migration(const SourceSpan& span) {
    return PlanStep{step::Renumber{R"(^([^.]+\.[^.]+\.processor\.proc\.)(?P<outer>\d+)\.blocks\.(?P<inner>\d+)(\.|$))", "$1${index}$4"},
                    span};
  }

  // update_ds_stats_on_ckpt_load: the checkpoint's statistics for the current dataset are
  // dropped, so the model keeps the ones it built (a non-strict load leaves them). The legacy
  // trainer also keeps every *model_output_idx* buffer of the model; the pipeline does not.
  void refresh_steps(std::vector<PlanStep>& steps, bool keep_output_indices) const {
    std::vector<std::string> prefixes;
    if (refresh_.states) prefixes.insert(prefixes.end(), {"model.pre_processors.", "model.post_processors."});
    if (refresh_.tendencies) prefixes.insert(prefixes.end(), {"model.pre_processors_tendencies.", "model.post_processors_tendencies."});
    if (prefixes.empty()) return;
    Predicate predicate{StringMatch{StringField::name, MatchOp::starts, prefixes}, refresh_span_};
    std::string rule = fmt::format("update_ds_stats_on_ckpt_load: the model keeps its {} statistics",
                                   refresh_.states && refresh_.tendencies ? "state and tendency"
                                   : refresh_.states                     ? "state"
                                                                         : "tendency");
    if (keep_output_indices) {
      predicate = Predicate{AnyOf{{std::move(predicate), Predicate{StringMatch{StringField::name, MatchOp::contains, {"model_output_idx"}}, refresh_span_}}},
                            refresh_span_};
      rule += " and output indices";
    }
    steps.push_back(PlanStep{step::Drop{std::move(predicate), false, std::move(rule)}, refresh_span_});
  }

  // A loader of the checkpoint pipeline: the migration and the refresh, then the loader's own steps.
  void pipeline_load(const SourceSpan& span, std::vector<PlanStep> own, bool refresh) {
    std::vector<PlanStep> steps{chunking_migration(span)};
    if (refresh) refresh_steps(steps, false);
    steps.insert(steps.end(), own.begin(), own.end());
    load_plan(span, source_path_, std::move(steps));
  }

  bool flag(const YAML::Node& map, std::string_view key, bool fallback) {
    YAML::Node node = Reader::get(map, key);
    if (!node.IsDefined()) return fallback;
    if (node.IsNull()) return false;  // anemoi tests it with `if`: None is false
    OptionValue value = reader_.option_value(node);
    if (const bool* b = std::get_if<bool>(&value.value)) return *b;
    reader_.diagnostics().error(code::wrong_value_type, reader_.span(node), fmt::format("{} must be true or false", key),
                                fmt::format("write `{}: false`", key));
    return fallback;
  }

  std::optional<std::string> path_value(const YAML::Node& map, std::string_view key) {
    YAML::Node node = Reader::get(map, key);
    if (!node.IsDefined() || node.IsNull()) return std::nullopt;
    return reader_.scalar(node, key);
  }

  // RunSource: `<system.output.checkpoints.root>/../<run_id>/last.ckpt` (sources/run.py); no run_id: a
  // pass-through that names no checkpoint.
  void run_source(const YAML::Node& node, const SourceSpan& span) {
    auto run_id = path_value(node, "run_id");
    if (!run_id) return;
    auto root = path_value(Reader::get(Reader::get(Reader::get(root_, "system"), "output"), "checkpoints"), "root");
    if (!root || root->find("${") != std::string::npos) {
      reader_.diagnostics().warning(code::unresolved_source, span,
                                    fmt::format("RunSource finds run {}'s checkpoint under system.output.checkpoints.root, "
                                                "which this file does not give{}",
                                                *run_id, root ? " as a plain path" : ""),
                                    fmt::format("pass the checkpoint's path: `taxon apply RULES .../{}/last.ckpt ...`", *run_id));
      return;
    }
    std::string parent = *root;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    auto slash = parent.rfind('/');
    parent = slash == std::string::npos ? std::string(".") : parent.substr(0, slash == 0 ? 1 : slash);
    source_path_ = fmt::format("{}/{}/last.ckpt", parent, *run_id);
  }

  // One `_target_` entry: a modifier, a loader or a source.
  void entry(const YAML::Node& node) {
    if (node.IsNull()) return;  // an unset slot of the pipeline (source: null) does nothing
    if (!node.IsMap()) {
      reader_.diagnostics().error(code::wrong_value_type, reader_.span(node), "a modifier is a mapping with _target_",
                                  "write `- {_target_: anemoi.training...., ...}`");
      return;
    }
    YAML::Node target_node = Reader::get(node, "_target_");
    if (!target_node.IsDefined()) {
      reader_.missing_key(node, "_target_", reader_.span(node), "a modifier", "name its class with `_target_:`");
      return;
    }
    std::string target = reader_.scalar(target_node, "_target_").value_or("");
    SourceSpan span = reader_.span(target_node);
    std::string cls = known_class(target);
    if (cls == "FreezingModelModifier" || cls == "FreezingModifierStage") {
      YAML::Node names = Reader::get(node, "submodules_to_freeze");
      if (!names.IsDefined()) reader_.missing_key(node, "submodules_to_freeze", span, cls, "list the module paths to freeze");
      else {
        bool strict = flag(node, "strict", false);
        freeze(names, strict, PathSemantics::anemoi_stage, {});
      }
    } else if (cls == "TransferLearningModelModifier") {
      transfer(span, flag(node, "skip_mismatched", true), flag(node, "strict", false), path_value(node, "checkpoint_path"));
    } else if (cls == "TransferLearningLoader") {
      pipeline_load(span, {PlanStep{step::SkipMismatched{!flag(node, "skip_mismatched", true)}, span}, PlanStep{step::Load{false}, span}},
                    true);
    } else if (cls == "WeightsOnlyLoader" || cls == "ColdStartLoader") {
      // load_state_dict(strict=self.strict), strict=False by default (strategies.py); a key of
      // another shape fails the load either way, as it does in PyTorch.
      pipeline_load(span, {PlanStep{step::Load{flag(node, "strict", false)}, span}}, true);
    } else if (cls == "WarmStartLoader") {
      // A resume loads strictly: statistics taxon cannot write into the file stay the checkpoint's.
      pipeline_load(span, {PlanStep{step::Load{true}, span}}, false);
    } else if (cls == "LocalSource") {
      if (auto path = path_value(node, "path")) source_path_ = path;
    } else if (cls == "RunSource") {
      run_source(node, span);
    } else if (cls == "S3Source" || cls == "HTTPSource") {
      reader_.diagnostics().warning(code::remote_source, span,
                                    fmt::format("{} is a remote checkpoint, which taxon does not fetch", cls),
                                    "download it and pass its path: `taxon apply RULES CHECKPOINT ...`");
    } else {
      // A known class under another module path: the path anemoi has for it. Anything else: the list.
      std::string wanted_class = target.substr(target.rfind('.') + 1);
      std::vector<std::string> same_class;
      for (const auto& known : kTargets)
        if (known.cls == wanted_class) same_class.emplace_back(known.path);
      std::string closest = same_class.empty() ? std::string() : closest_match(target, same_class);
      if (closest.empty() && !same_class.empty()) closest = same_class.front();
      reader_.diagnostics().error(code::unknown_target, span, fmt::format("unknown _target_ '{}'", target),
                                  closest.empty() ? fmt::format("taxon understands: {}", fmt::join(known_paths(), ", "))
                                                  : fmt::format("did you mean '{}'? anemoi imports the path as written", closest));
    }
  }

  // The prototype's TransferLearningModelModifier (generation B).
  void transfer(const SourceSpan& span, bool skip_mismatched, bool strict, std::optional<std::string> path) {
    load_plan(span, std::move(path), {PlanStep{step::SkipMismatched{!skip_mismatched}, span}, PlanStep{step::Load{strict}, span}});
  }

  // The legacy trainer's load (train.py, utils/checkpoint.py). With transfer_learning: the
  // migration, the refresh, shape mismatches dropped, a non-strict load. Without:
  // load_from_checkpoint(strict=False), whose on_load_checkpoint refreshes the statistics; a
  // shape mismatch fails it.
  void legacy_load(const SourceSpan& span, bool transfer_learning) {
    if (refresh_null_)
      reader_.diagnostics().error(code::wrong_value_type, refresh_span_,
                                  "update_ds_stats_on_ckpt_load is null, and the legacy trainer reads its states and tendencies "
                                  "(AttributeError)",
                                  "write `update_ds_stats_on_ckpt_load: {states: false, tendencies: false}` to refresh nothing");
    std::vector<PlanStep> steps;
    if (transfer_learning) steps.push_back(chunking_migration(span));
    refresh_steps(steps, true);
    if (transfer_learning) steps.push_back(PlanStep{step::SkipMismatched{false}, span});
    steps.push_back(PlanStep{step::Load{false}, span});
    load_plan(span, std::nullopt, std::move(steps));
  }

  void list(const YAML::Node& modifiers, std::string_view where) {
    if (modifiers.IsNull()) return;  // no modifiers
    if (!modifiers.IsSequence()) {
      reader_.diagnostics().error(code::wrong_value_type, reader_.span(modifiers),
                                  fmt::format("{} must be a list of modifiers", where), "write each as `- {_target_: ...}`");
      return;
    }
    for (const auto& item : modifiers) entry(item);
  }

  void set_root(const YAML::Node& root) { root_ = root; }

 private:
  Reader& reader_;
  Program& program_;
  std::vector<CheckpointPlan>* plans_;
  YAML::Node root_;
  std::optional<std::string> source_path_;
  std::optional<Version> version_;
  StatisticsRefresh refresh_;
  bool refresh_null_ = false;
  SourceSpan refresh_span_;
  std::size_t freezes_ = 0;
};

// A file of one `_target_` mapping or a list of them: anemoi's config group templates
// (config/training/checkpoint/{source,loading,modifiers}/*.yaml in PR #1196).
bool is_anemoi_entry(const YAML::Node& node) {
  if (!node.IsMap()) return false;
  YAML::Node target = Reader::get(node, "_target_");
  return target.IsScalar() && target.Scalar().starts_with("anemoi.");
}

}  // namespace

bool looks_like_anemoi(const YAML::Node& root) {
  if (root.IsSequence()) return root.size() > 0 && std::all_of(root.begin(), root.end(), [](const YAML::Node& item) { return is_anemoi_entry(item); });
  return root.IsMap() && (Reader::get(root, "training").IsDefined() || Reader::get(root, "modifiers").IsDefined() ||
                          holds_training_keys(root) || is_anemoi_entry(root));
}

void lower_anemoi(const YAML::Node& root, Reader& reader, Program& program, std::vector<CheckpointPlan>* plans) {
  Anemoi anemoi(reader, program, plans);
  anemoi.set_root(root);
  SourceSpan root_span{reader.source(), 1, 1, 1};
  if (root.IsSequence()) {  // a modifiers template
    anemoi.list(root, "the modifiers");
    return;
  }
  if (is_anemoi_entry(root)) {  // a source or loader template
    anemoi.entry(root);
    return;
  }
  anemoi.read_version(root);
  bool found = false;
  YAML::Node training = Reader::get(root, "training");
  if (!training.IsDefined() && holds_training_keys(root)) training = root;  // a Hydra group file
  anemoi.read_refresh(training);
  // The pipeline's stage list (docs: checkpoint_pipeline_configuration): sources, loaders and
  // modifiers in the order written.
  if (YAML::Node pipeline = Reader::get(training, "checkpoint_pipeline"); pipeline.IsMap()) {
    found = true;
    YAML::Node stages = Reader::get(pipeline, "stages");
    if (!stages.IsDefined()) reader.missing_key(pipeline, "stages", reader.span(pipeline), "checkpoint_pipeline", "list its stages, each `- {_target_: ...}`");
    else anemoi.list(stages, "training.checkpoint_pipeline.stages");
  }
  // Gen C′: training.checkpoint.{source, loading, modifiers}, in that order.
  if (YAML::Node checkpoint = Reader::get(training, "checkpoint"); checkpoint.IsMap()) {
    found = true;
    if (YAML::Node source = Reader::get(checkpoint, "source"); source.IsDefined()) anemoi.entry(source);
    if (YAML::Node loading = Reader::get(checkpoint, "loading"); loading.IsDefined()) anemoi.entry(loading);
    if (YAML::Node modifiers = Reader::get(checkpoint, "modifiers"); modifiers.IsDefined())
      anemoi.list(modifiers, "training.checkpoint.modifiers");
  }
  // Gen B: training.model_modifier.modifiers, applied in list order.
  if (YAML::Node modifiers = Reader::get(Reader::get(training, "model_modifier"), "modifiers"); modifiers.IsDefined()) {
    found = true;
    anemoi.list(modifiers, "training.model_modifier.modifiers");
  }
  // Gen A: the legacy trainer keys.
  bool transfer = anemoi.flag(training, "transfer_learning", false);
  bool weights_only = anemoi.flag(training, "load_weights_only", false);
  YAML::Node legacy_names = Reader::get(training, "submodules_to_freeze");
  bool legacy_acts = weights_only || (legacy_names.IsSequence() && legacy_names.size() > 0);
  if (legacy_acts && Reader::get(training, "checkpoint").IsMap()) {
    reader.diagnostics().error(code::mixed_generations,
                               reader.key_span(training, weights_only ? "load_weights_only" : "submodules_to_freeze"),
                               "the legacy keys and training.checkpoint in one config: anemoi-core's main branch runs the legacy "
                               "keys and ignores training.checkpoint, while PR #1196 runs training.checkpoint and rejects the "
                               "legacy keys",
                               "keep one: move the freezing list into training.checkpoint.modifiers (paths from the "
                               "LightningModule: model.model.NAME), or remove training.checkpoint");
    return;
  }
  if (Reader::get(training, "transfer_learning").IsDefined() || Reader::get(training, "load_weights_only").IsDefined()) found = true;
  if (weights_only) anemoi.legacy_load(reader.key_span(training, transfer ? "transfer_learning" : "load_weights_only"), transfer);
  if (YAML::Node names = Reader::get(training, "submodules_to_freeze"); names.IsDefined()) {
    found = true;
    anemoi.legacy_freeze(names);  // the legacy trainer warns and never raises
  }
  // The stand-alone template: `modifiers:` at the top.
  if (YAML::Node modifiers = Reader::get(root, "modifiers"); modifiers.IsDefined()) {
    found = true;
    anemoi.list(modifiers, "modifiers");
  }
  if (!found)
    reader.diagnostics().error(code::unrecognised_document, root_span,
                               "an anemoi config without checkpoint, checkpoint_pipeline, model_modifier, transfer_learning or "
                               "submodules_to_freeze settings",
                               "write training.checkpoint.{source, loading, modifiers}, training.checkpoint_pipeline.stages, "
                               "or the legacy keys");
}

}  // namespace taxon::yaml
