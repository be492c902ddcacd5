// anemoi-core's own results against taxon's. tests/data/anemoi_core/expected.json holds what
// anemoi-core's code (2cb9b6e1) did on its unit tests' cases: the frozen parameters, the keys its
// loaders kept and skipped and why, where each final tensor came from, its errors and warnings.
// Each case is run here through taxon's anemoi front end and public API. Where taxon deliberately
// differs, the case is listed in kDeliberate with why, and its own check says what taxon does
// instead (docs/rules-yaml.md lists the same differences).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "taxon/taxon.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json& cases() {
  static const json data = [] {
    std::ifstream in(TAXON_SOURCE_DIR "/tests/data/anemoi_core/expected.json");
    return json::parse(in);
  }();
  return data["cases"];
}

std::vector<const json*> cases_in(const std::string& area) {
  std::vector<const json*> out;
  for (const auto& c : cases())
    if (c["area"] == area) out.push_back(&c);
  return out;
}

// The cases where taxon does not do what anemoi-core does, on purpose.
const std::map<std::string, std::string> kDeliberate = {
    {"tl_nothing_kept", "a transfer that keeps nothing fails; anemoi loads nothing and goes on"},
    {"filter_nothing_kept", "the same, through the TransferLearningLoader"},
    {"filter_scalar_vs_1", "the same: its one key is of another shape"},
    {"wo_refresh_upstream_model_states_true_tendencies_true",
     "no checkpoint key is the model's (model.* against an unwrapped model): taxon fails, anemoi loads nothing"},
    {"wo_refresh_upstream_model_states_false_tendencies_false", "the same"},
    {"legacy_tl_old_data_indices_format",
     "anemoi refuses a checkpoint whose hyper_parameters.data_indices predate multi-dataset training; taxon reads tensors only"},
    {"chunk_other_prefix_rewritten", "taxon keeps the key's own prefix; anemoi moves it under model.model."},
    {"chunk_too_short_key", "a flat processor key is left as it is; anemoi raises IndexError"},
    {"pipeline_migration_index_error_propagates", "the same"},
    {"pipeline_migration_incomplete_checkpoint",
     "taxon migrates chunked keys whatever the checkpoint's hyper_parameters; anemoi skips the migration without them"},
};

bool deliberate(const json& c) { return kDeliberate.contains(c["name"].get<std::string>()); }

std::string torch_size(const std::vector<int64_t>& shape) { return fmt::format("torch.Size([{}])", fmt::join(shape, ", ")); }

std::string owner_of(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

// The case's model: its modules (shared ones under each path) and its parameters or state.
taxon::Model model_of(const json& inputs) {
  std::vector<taxon::ModelModule> modules;
  for (const auto& m : inputs.value("modules", json::array()))
    modules.push_back({m["path"], m["class"], {}, m.value("alias_of", std::string())});
  std::vector<taxon::ModelTensor> tensors;
  if (inputs.contains("parameters")) {
    for (const auto& p : inputs["parameters"])
      tensors.push_back({.name = p["name"], .shape = p["shape"], .module = owner_of(p["name"]), .requires_grad = p["requires_grad"]});
  } else {
    for (const auto& k : inputs[inputs.contains("model_state") ? "model_state" : "target"])
      tensors.push_back({.name = k["key"], .shape = k["shape"], .module = owner_of(k["key"])});
  }
  return taxon::Model(std::move(tensors), "case", std::move(modules));
}

// A safetensors file holding `keys` (float32 zeros): anemoi's checkpoint["state_dict"].
std::string write_checkpoint(const std::string& name, const json& keys) {
  fs::path path = fs::temp_directory_path() / fmt::format("taxon-anemoi-{}-{}.safetensors", name, ::getpid());
  json header = json::object();
  std::size_t offset = 0;
  for (const auto& k : keys) {
    std::vector<int64_t> shape = k["shape"];
    std::size_t count = 1;
    for (int64_t d : shape) count *= static_cast<std::size_t>(d);
    header[k["key"].get<std::string>()] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + 4 * count}}};
    offset += 4 * count;
  }
  std::string text = header.dump();
  uint64_t size = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << text << std::string(offset, '\0');
  return path.string();
}

std::string yaml_list(const json& names) {
  std::vector<std::string> quoted;
  for (const auto& n : names) quoted.push_back(json(n.get<std::string>()).dump());
  return fmt::format("[{}]", fmt::join(quoted, ", "));
}

taxon::Rules rules_of(const std::string& yaml) {
  taxon::Rules rules = taxon::Rules::parse(yaml, taxon::RulesLanguage::yaml, "case.yaml");
  INFO(yaml);
  for (const auto& f : rules.findings()) INFO(f.rendered);
  REQUIRE(rules.ok());
  return rules;
}

// What a freezing list freezes: the selection, and what was frozen before.
std::vector<std::string> frozen_by(const taxon::Report& report, const taxon::Model& model) {
  std::set<std::string> frozen;
  for (const auto& selection : report.selections)
    if (selection.freezes) frozen.insert(selection.tensors.begin(), selection.tensors.end());
  for (const auto& tensor : model.tensors())
    if (!tensor.requires_grad) frozen.insert(tensor.name);
  return {frozen.begin(), frozen.end()};
}

std::vector<std::string> messages(const taxon::Report& report) {
  std::vector<std::string> out;
  for (const auto& f : report.findings) out.push_back(f.message);
  return out;
}

bool has_message(const std::vector<std::string>& all, const std::string& wanted) {
  return std::find(all.begin(), all.end(), wanted) != all.end();
}

std::string stage_yaml(const json& inputs) {
  return fmt::format(
      "modifiers:\n  - _target_: anemoi.training.checkpoint.modifiers.freezing.FreezingModifierStage\n"
      "    submodules_to_freeze: {}\n    strict: {}\n",
      yaml_list(inputs["submodules_to_freeze"]), inputs["strict"].get<bool>() ? "true" : "false");
}

std::string legacy_freeze_yaml(const json& inputs) {
  return fmt::format("training:\n  submodules_to_freeze: {}\n", yaml_list(inputs["submodules_to_freeze"]));
}

// update_ds_stats_on_ckpt_load as the case's config gives it, else the schema's defaults.
std::string refresh_yaml(const json& inputs) {
  if (!inputs.contains("config")) return {};
  const json& refresh = inputs["config"]["training"]["update_ds_stats_on_ckpt_load"];
  return fmt::format("  update_ds_stats_on_ckpt_load: {{states: {}, tendencies: {}}}\n", refresh["states"].get<bool>(),
                     refresh["tendencies"].get<bool>());
}

std::string loader_yaml(const json& c) {
  const json& inputs = c["inputs"];
  std::string api = c["api"];
  std::string loader = api.find("TransferLearningLoader") != std::string::npos ? "TransferLearningLoader"
                       : api.find("WarmStartLoader") != std::string::npos      ? "WarmStartLoader"
                                                                                : "WeightsOnlyLoader";
  std::string options;
  const json loader_options = inputs.value("loader", json::object());
  for (const auto& [key, value] : loader_options.items()) options += fmt::format(", {}: {}", key, value.dump());
  return fmt::format("training:\n{}  checkpoint:\n    loading: {{_target_: anemoi.training.checkpoint.loading.strategies.{}{}}}\n",
                     refresh_yaml(inputs), loader, options);
}

std::string legacy_transfer_yaml(const json& c) {
  return fmt::format("training:\n  load_weights_only: true\n  transfer_learning: true\n{}", refresh_yaml(c["inputs"]));
}

struct Applied {
  taxon::Application application;
  taxon::PlanOutcome outcome;
  bool fails;
};

Applied apply(const json& c, const std::string& yaml, const json& checkpoint_keys, std::optional<taxon::Model> target) {
  taxon::ApplyOptions options;
  options.checkpoints = {write_checkpoint(c["name"], checkpoint_keys)};
  options.target = std::move(target);
  taxon::Application application = taxon::plan_application(rules_of(yaml), options);
  fs::remove(options.checkpoints[0]);
  bool fails = !application.ok() || application.load_fails();
  return {application, application.outcome(), fails};
}

// Where each target key's final value comes from, as anemoi's `model_state_origin` says it:
// "checkpoint:KEY" when the result loads it, else "model:KEY" (the model keeps its own).
std::map<std::string, std::string> origins(const Applied& run, const taxon::Model& model) {
  std::map<std::string, std::string> renamed_from;
  for (const auto& r : run.outcome.renamed) renamed_from[r.to] = r.from;
  std::set<std::string> produced(run.outcome.keys.begin(), run.outcome.keys.end());
  for (const auto& m : run.outcome.mismatched) produced.erase(m.name);
  std::map<std::string, std::string> out;
  for (const auto& tensor : model.tensors()) {
    if (!produced.contains(tensor.name)) {
      out[tensor.name] = "model:" + tensor.name;
      continue;
    }
    auto from = renamed_from.find(tensor.name);
    out[tensor.name] = "checkpoint:" + (from == renamed_from.end() ? tensor.name : from->second);
  }
  return out;
}

// anemoi's skipped_params: "Key not in target" or "Shape mismatch: A vs B", per checkpoint key.
std::map<std::string, std::string> skipped_reasons(const taxon::PlanOutcome& outcome) {
  std::map<std::string, std::string> out;
  for (const auto& name : outcome.not_in_target) out[name] = "Key not in target";
  for (const auto& s : outcome.skipped)
    out[s.name] = fmt::format("Shape mismatch: {} vs {}", torch_size(s.checkpoint_shape), torch_size(s.target_shape));
  return out;
}

// Evaluates the case's freezing config on its model; checks anemoi's frozen parameters.
taxon::Report check_frozen(const json& c, const std::string& yaml) {
  taxon::Model model = model_of(c["inputs"]);
  taxon::Report report = taxon::evaluate(rules_of(yaml), model);
  CHECK(frozen_by(report, model) == c["outputs"]["frozen_parameters"].get<std::vector<std::string>>());
  return report;
}

}  // namespace

TEST_CASE("anemoi-core's FreezingModifierStage cases: the same parameters frozen with the same errors and warnings") {
  for (const json* c : cases_in("freezing")) {
    CAPTURE((*c)["name"]);
    taxon::Report report = check_frozen(*c, stage_yaml((*c)["inputs"]));
    const json& outputs = (*c)["outputs"];
    auto said = messages(report);
    for (const auto& log : outputs["logs"])
      if (log["level"] == "WARNING") CHECK(has_message(said, log["message"]));  // "Module 'x' not found. SKIPPING freezing."
    CHECK(report.has_errors() == outputs.contains("error"));
    if (outputs.contains("error")) CHECK(has_message(said, outputs["error"]["message"]));  // "Module 'x' not found"
  }
}

TEST_CASE("anemoi-core's legacy freeze_submodule_by_name cases: the same parameters frozen and a warning per name not found") {
  for (const json* c : cases_in("freezing_legacy")) {
    CAPTURE((*c)["name"]);
    taxon::Report report = check_frozen(*c, legacy_freeze_yaml((*c)["inputs"]));
    const json& outputs = (*c)["outputs"];
    auto said = messages(report);
    for (const auto& found : outputs["found"])  // train.py's own warning for a name the helper did not find
      CHECK(has_message(said, fmt::format("Submodule {} not found. SKIPPING freezing.", found["name"].get<std::string>())) ==
            !found["found"].get<bool>());
    CHECK_FALSE(report.has_errors());  // the legacy trainer never raises
  }
}

TEST_CASE("the legacy cases on a LightningModule-shaped model: the names resolve under the inner network (model.model)") {
  for (const json* c : cases_in("freezing_legacy")) {
    CAPTURE((*c)["name"]);
    json inputs = (*c)["inputs"];
    // The LightningModule around the case's network: model (the interface) -> model (the network).
    json modules = json::array({{{"path", ""}, {"class", "GraphForecaster"}}, {{"path", "model"}, {"class", "AnemoiModelInterface"}}});
    for (auto m : inputs["modules"]) {
      m["path"] = m["path"] == "" ? std::string("model.model") : "model.model." + m["path"].get<std::string>();
      if (m.contains("alias_of")) m["alias_of"] = "model.model." + m["alias_of"].get<std::string>();
      modules.push_back(m);
    }
    inputs["modules"] = modules;
    for (auto& p : inputs["parameters"]) p["name"] = "model.model." + p["name"].get<std::string>();
    taxon::Model model = model_of(inputs);
    taxon::Report report = taxon::evaluate(rules_of(legacy_freeze_yaml(inputs)), model);
    std::vector<std::string> expected;
    for (const auto& name : (*c)["outputs"]["frozen_parameters"]) expected.push_back("model.model." + name.get<std::string>());
    CHECK(frozen_by(report, model) == expected);
  }
}

TEST_CASE("anemoi-core's filter_state_dict cases: the same keys kept and the same reasons for the others") {
  for (const json* c : cases_in("filter_state_dict")) {
    CAPTURE((*c)["name"]);
    const json& inputs = (*c)["inputs"];
    json as_loader = *c;
    as_loader["api"] = "TransferLearningLoader";
    Applied run = apply(*c, loader_yaml(as_loader), inputs["source"], model_of(inputs));
    const json& outputs = (*c)["outputs"];
    CHECK(skipped_reasons(run.outcome) == outputs["skipped"].get<std::map<std::string, std::string>>());
    std::set<std::string> kept(run.outcome.keys.begin(), run.outcome.keys.end());
    std::set<std::string> expected;
    for (const auto& k : outputs["filtered"]) expected.insert(k.is_string() ? k.get<std::string>() : k["key"].get<std::string>());
    CHECK(kept == expected);
    CHECK(run.fails == deliberate(*c));  // keeping nothing fails in taxon
  }
}

TEST_CASE("anemoi-core's loaders and its data-statistics refresh: each tensor from where anemoi takes it") {
  for (const std::string area : {"transfer_learning", "warm_start", "weights_only", "refresh_processors"}) {
    for (const json* c : cases_in(area)) {
      CAPTURE((*c)["name"]);
      const json& inputs = (*c)["inputs"];
      const json& outputs = (*c)["outputs"];
      taxon::Model model = model_of(inputs);
      Applied run = apply(*c, loader_yaml(*c), inputs["checkpoint_state"], model);
      if (deliberate(*c)) {  // anemoi keeps nothing from the checkpoint and goes on; taxon fails
        for (const auto& [key, origin] : outputs["model_state_origin"].items()) CHECK(origin.get<std::string>().starts_with("model:"));
        CHECK(run.fails);
        continue;
      }
      // An error in anemoi (its loaders' TypeError and CheckpointIncompatibleError alike) is a
      // failed plan in taxon, which then writes nothing.
      CHECK(run.fails == outputs.contains("error"));
      if (outputs.contains("error")) continue;
      CHECK(origins(run, model) == outputs["model_state_origin"].get<std::map<std::string, std::string>>());
      if (outputs.contains("metadata") && outputs["metadata"].contains("skipped_params"))
        CHECK(skipped_reasons(run.outcome) == outputs["metadata"]["skipped_params"].get<std::map<std::string, std::string>>());
    }
  }
}

TEST_CASE("anemoi-core's legacy transfer_learning_loading: migration then refresh with the output indices then mismatches dropped") {
  for (const json* c : cases_in("legacy_transfer")) {
    CAPTURE((*c)["name"]);
    const json& inputs = (*c)["inputs"];
    taxon::Model model = model_of(inputs);
    Applied run = apply(*c, legacy_transfer_yaml(*c), inputs["checkpoint_state"], model);
    if (deliberate(*c)) {  // refused by anemoi for what hyper_parameters holds, which taxon does not read
      CHECK_FALSE(run.fails);
      continue;
    }
    CHECK_FALSE(run.fails);
    CHECK(origins(run, model) == (*c)["outputs"]["model_state_origin"].get<std::map<std::string, std::string>>());
  }
}

TEST_CASE("anemoi-core's chunking migration: processor.proc.C.blocks.B becomes processor.proc.N") {
  for (const json* c : cases_in("chunking_migration")) {
    CAPTURE((*c)["name"]);
    json keys = json::array();
    for (const auto& k : (*c)["inputs"]["keys"]) keys.push_back({{"key", k}, {"shape", {1}}});
    Applied run = apply(*c, "training:\n  load_weights_only: true\n  transfer_learning: true\n", keys, std::nullopt);
    std::set<std::string> got(run.outcome.keys.begin(), run.outcome.keys.end());
    const json& outputs = (*c)["outputs"];
    std::string name = (*c)["name"];
    if (name == "chunk_other_prefix_rewritten") {
      // Its own prefix kept; and with one block seen, taxon counts one block per chunk (anemoi reads
      // num_layers // num_chunks = 2 from the checkpoint's hyper_parameters).
      CHECK(got == std::set<std::string>{"x.y.processor.proc.1.w"});
    } else if (name == "chunk_too_short_key" || name == "pipeline_migration_index_error_propagates") {
      CHECK(got == std::set<std::string>{"model.model.processor.proc.0"});
    } else if (name == "pipeline_migration_incomplete_checkpoint") {
      CHECK(got == std::set<std::string>{"model.model.processor.proc.1.w"});
    } else {
      CHECK(got == outputs["keys"].get<std::set<std::string>>());
    }
  }
}

TEST_CASE("stdlib anemoi/checkpoint's plans are the steps an anemoi config's loads become") {
  taxon::ApplyOptions options;
  options.checkpoints = {TAXON_SOURCE_DIR "/tests/data/ckpt/anemoi/chunked_v010.safetensors"};
  options.target = taxon::Model::from_dump(TAXON_SOURCE_DIR "/tests/data/dumps/anemoi/graph_forecaster.json");
  auto outcome_of = [&](const taxon::Rules& rules, const std::string& plan) {
    options.plan = plan;
    taxon::Application application = taxon::plan_application(rules, options);
    REQUIRE(application.ok());
    CHECK_FALSE(application.load_fails());
    return application.outcome();
  };
  auto same = [](const taxon::PlanOutcome& a, const taxon::PlanOutcome& b) {
    CHECK(a.keys == b.keys);
    CHECK(a.dropped == b.dropped);
    CHECK(a.renamed.size() == b.renamed.size());
    for (std::size_t i = 0; i < std::min(a.renamed.size(), b.renamed.size()); ++i)
      CHECK((a.renamed[i].from == b.renamed[i].from && a.renamed[i].to == b.renamed[i].to));
    CHECK(a.skipped.size() == b.skipped.size());
    CHECK(a.missing == b.missing);
  };
  taxon::Rules stdlib = taxon::Rules::load("anemoi/checkpoint");
  REQUIRE(stdlib.ok());
  taxon::PlanOutcome transfer = outcome_of(stdlib, "transfer_learning");
  CHECK(transfer.renamed.size() == 56);  // 4 blocks of 14 tensors, out of their chunks
  same(transfer, outcome_of(rules_of("training:\n  load_weights_only: true\n  transfer_learning: true\n"), ""));
  same(outcome_of(stdlib, "transfer_learning_keep_statistics"),
       outcome_of(rules_of("training:\n  load_weights_only: true\n  transfer_learning: true\n"
                           "  update_ds_stats_on_ckpt_load: {states: false, tendencies: false}\n"),
                  ""));
}
