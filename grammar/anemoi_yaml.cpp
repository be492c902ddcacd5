// anemoi-core's checkpoint configuration, in its four generations
// (docs/rules-yaml.md, anemoi YAML), lowered to one ordered program:
// the transfer-learning load as the plan `anemoi_load`, and each freezing
// modifier as a `freeze` selection (exact dotted module paths; a bare name is
// a direct child; "" is the whole model).
#include <fmt/format.h>

#include "grammar/linnaeus_yaml.hpp"
#include "grammar/yaml_support.hpp"

namespace taxon::yaml {
namespace {

// Every `_target_` taxon reads, by the exact import paths anemoi-core (2cb9b6e1) defines or
// re-exports (checkpoint/loading, modifiers and sources __init__.py): Hydra imports the path as
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
    {"anemoi.training.checkpoint.sources.LocalSource", "LocalSource"},
    {"anemoi.training.checkpoint.sources.s3.S3Source", "S3Source"},
    {"anemoi.training.checkpoint.sources.S3Source", "S3Source"},
    {"anemoi.training.checkpoint.sources.http.HTTPSource", "HTTPSource"},
    {"anemoi.training.checkpoint.sources.HTTPSource", "HTTPSource"},
};

std::vector<std::string> known_paths() {
  std::vector<std::string> paths;
  for (const auto& known : kTargets) paths.emplace_back(known.path);
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

class Anemoi {
 public:
  Anemoi(Reader& reader, Program& program, std::vector<CheckpointPlan>* plans) : reader_(reader), program_(program), plans_(plans) {}

  void freeze(const YAML::Node& names, const SourceSpan& span, bool strict) {
    auto paths = reader_.string_list(names, "submodules_to_freeze");
    if (!paths || paths->empty()) return;  // anemoi: an empty list is a no-op
    AnyOf any;  // one test per path, so that a missing one is reported where it is written
    std::size_t index = 0;
    for (const auto& item : names) any.terms.push_back(Predicate{ModuleUnder{{(*paths)[index++]}, strict}, reader_.span(item)});
    std::string name = freezes_ == 0 ? "freeze" : fmt::format("freeze_{}", freezes_ + 1);
    ++freezes_;
    program_.selections.push_back(Selection{name, Predicate{std::move(any), span}, Universe::parameters, span, true});
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

  void transfer(const SourceSpan& span, bool skip_mismatched, bool strict, std::optional<std::string> path) {
    load_plan(span, std::move(path), {PlanStep{step::SkipMismatched{!skip_mismatched}, span}, PlanStep{step::Load{strict}, span}});
  }

  bool flag(const YAML::Node& map, std::string_view key, bool fallback) {
    YAML::Node node = Reader::get(map, key);
    if (!node.IsDefined() || node.IsNull()) return fallback;
    OptionValue value = reader_.option_value(node);
    if (const bool* b = std::get_if<bool>(&value.value)) return *b;
    reader_.diagnostics().error(code::wrong_value_type, reader_.span(node), fmt::format("{} must be true or false", key),
                                fmt::format("write `{}: false`", key));
    return fallback;
  }

  // One `_target_` entry: a modifier, a loader or a source.
  void entry(const YAML::Node& node) {
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
      else freeze(names, reader_.span(names), flag(node, "strict", false));
    } else if (cls == "TransferLearningModelModifier") {
      std::optional<std::string> path;
      if (YAML::Node p = Reader::get(node, "checkpoint_path"); p.IsDefined() && !p.IsNull()) path = reader_.scalar(p, "checkpoint_path");
      transfer(span, flag(node, "skip_mismatched", true), flag(node, "strict", false), path);
    } else if (cls == "TransferLearningLoader") {
      transfer(span, flag(node, "skip_mismatched", true), false, source_path_);
    } else if (cls == "WeightsOnlyLoader" || cls == "ColdStartLoader") {
      // load_state_dict(strict=self.strict), strict=False by default (strategies.py); a key of
      // another shape fails the load either way, as it does in PyTorch.
      load_plan(span, source_path_, {PlanStep{step::Load{flag(node, "strict", false)}, span}});
    } else if (cls == "WarmStartLoader") {
      load_plan(span, source_path_, {PlanStep{step::Load{true}, span}});
    } else if (cls == "LocalSource") {
      if (YAML::Node p = Reader::get(node, "path"); p.IsDefined() && !p.IsNull()) source_path_ = reader_.scalar(p, "path");
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

  void list(const YAML::Node& modifiers, std::string_view where) {
    if (!modifiers.IsSequence()) {
      reader_.diagnostics().error(code::wrong_value_type, reader_.span(modifiers),
                                  fmt::format("{} must be a list of modifiers", where), "write each as `- {_target_: ...}`");
      return;
    }
    for (const auto& item : modifiers) entry(item);
  }

  Reader& reader_;
  Program& program_;
  std::vector<CheckpointPlan>* plans_;
  std::optional<std::string> source_path_;
  std::size_t freezes_ = 0;
};

}  // namespace

bool looks_like_anemoi(const YAML::Node& root) {
  return root.IsMap() &&
         (Reader::get(root, "training").IsDefined() || Reader::get(root, "modifiers").IsDefined() || holds_training_keys(root));
}

void lower_anemoi(const YAML::Node& root, Reader& reader, Program& program, std::vector<CheckpointPlan>* plans) {
  Anemoi anemoi(reader, program, plans);
  SourceSpan root_span{reader.source(), 1, 1, 1};
  bool found = false;
  YAML::Node training = Reader::get(root, "training");
  if (!training.IsDefined() && holds_training_keys(root)) training = root;  // a Hydra group file
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
  if (Reader::get(training, "transfer_learning").IsDefined() || Reader::get(training, "load_weights_only").IsDefined()) found = true;
  if (transfer && weights_only)  // keys absent from the model are left to the non-strict load, which ignores them
    anemoi.transfer(reader.key_span(training, "transfer_learning"), true, false, std::nullopt);
  if (YAML::Node names = Reader::get(training, "submodules_to_freeze"); names.IsDefined()) {
    found = true;
    anemoi.freeze(names, reader.span(names), false);  // the legacy trainer warns and never raises
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
