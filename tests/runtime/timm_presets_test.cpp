// stdlib/timm/layer_decay.tx and stdlib/timm/weight_decay.tx against timm itself: for nine timm
// models of six families (ViT, DeiT, ViT with registers, CLIP-style ViT, EVA-02, Swin, Swin V2,
// ConvNeXt), most at depths other than their default, and two decays, every parameter's lr_scale
// is the one timm's param_groups_layer_decay computes, bit for bit, and its weight decay timm's
// (tests/data/timm_layer_decay/expected.json, written by make_expected.py from the timm commit it
// records).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"
#include "tests/test_support.hpp"

using namespace taxon;

namespace {

using testing::number;
using testing::source_root;

const nlohmann::json& timm_expected() {
  static const nlohmann::json json = [] {
    std::ifstream in(source_root + "/tests/data/timm_layer_decay/expected.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

// Per parameter: each numeric option, from the group it joined (exactly one).
std::map<std::string, std::map<std::string, double>> options(const std::string& preset, const std::string& dump,
                                                             const tx::Parameters& parameters) {
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(source_root + "/stdlib/" + preset), diagnostics, {}, parameters);
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(source_root + "/" + dump);
  EvalResult result = evaluate(rules.program, table);
  for (const auto& d : result.diagnostics.items()) CHECK_MESSAGE(d.severity != Severity::error, d.message);
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& group : result.groups)
    for (std::size_t tensor : group.tensors) {
      auto [entry, inserted] = out.try_emplace(std::string(table.tensors[tensor].name));
      CHECK(inserted);
      for (const auto& option : group.options)
        if (!option.computed && !std::holds_alternative<std::monostate>(option.value.value))
          entry->second[option.key] = number(option.value);
    }
  return out;
}

}  // namespace

TEST_CASE("timm reference data: nine models from a recorded timm commit") {
  CHECK(timm_expected()["timm"]["commit"].get<std::string>().size() == 40);
  CHECK(timm_expected()["models"].size() == 9);
}

TEST_CASE("timm/layer_decay: every parameter of every model as timm's param_groups_layer_decay - at 0.75 and 0.65") {
  std::size_t compared = 0;
  for (const auto& model : timm_expected()["models"]) {
    std::string name = model["model"].get<std::string>();
    for (const std::string decay : {"0.75", "0.65"}) {
      CAPTURE(name);
      CAPTURE(decay);
      auto got = options("timm/layer_decay.tx", model["dump"].get<std::string>(), {{"decay", decay}});
      const auto& rows = model["layer_decay"][decay];
      CHECK(got.size() == rows.size());
      for (const auto& row : rows) {
        std::string parameter = row["name"].get<std::string>();
        CAPTURE(parameter);
        REQUIRE(got.contains(parameter));
        CHECK(got[parameter].at("lr_scale") == row["lr_scale"].get<double>());  // bit for bit
        CHECK(got[parameter].at("weight_decay") == row["weight_decay"].get<double>());
        ++compared;
      }
    }
  }
  CHECK(compared > 1500);
}

TEST_CASE("timm/weight_decay: every parameter of every model as timm's param_groups_weight_decay") {
  for (const auto& model : timm_expected()["models"]) {
    std::string name = model["model"].get<std::string>();
    CAPTURE(name);
    auto got = options("timm/weight_decay.tx", model["dump"].get<std::string>(), {});
    CHECK(got.size() == model["weight_decay"].size());
    for (const auto& row : model["weight_decay"]) {
      std::string parameter = row["name"].get<std::string>();
      CAPTURE(parameter);
      REQUIRE(got.contains(parameter));
      CHECK(got[parameter].at("weight_decay") == row["weight_decay"].get<double>());
    }
  }
}

TEST_CASE("timm/layer_decay on BEiT-B/16: every parameter as timm's param_groups_layer_decay - at 0.65 and 0.75") {
  std::ifstream in(source_root + "/tests/data/layer_decay/beit_b16_expected.json");
  nlohmann::json beit = nlohmann::json::parse(in);
  for (const std::string decay : {"0.65", "0.75"}) {
    CAPTURE(decay);
    auto got = options("timm/layer_decay.tx", "tests/data/dumps/beit_b16.json", {{"decay", decay}});
    const auto& rows = beit["decays"][decay]["parameters"];
    CHECK(got.size() == rows.size());
    for (const auto& row : rows) {
      std::string parameter = row["name"].get<std::string>();
      CAPTURE(parameter);
      REQUIRE(got.contains(parameter));
      CHECK(got[parameter].at("lr_scale") == row["lr_scale"].get<double>());
      CHECK(got[parameter].at("weight_decay") == row["weight_decay"].get<double>());
    }
  }
}
