// Swin-T layer-wise decay against timm itself: every parameter's lr_mult, from the rule files and
// the docs example, is the lr_scale timm's param_groups_layer_decay gives the same parameter
// (tests/data/layer_decay/swin_t_expected.json, written by make_swin_expected.py from a timm
// checkout; the commit is in the file).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

namespace {

const std::string root = TAXON_SOURCE_DIR;

struct Expected {
  std::string commit;
  std::map<std::string, double> lr_scale;  // Hugging Face name -> timm's lr_scale
};

const Expected& expected() {
  static const Expected loaded = [] {
    std::ifstream in(root + "/tests/data/layer_decay/swin_t_expected.json");
    nlohmann::json json = nlohmann::json::parse(in);
    Expected out;
    out.commit = json["timm"]["commit"].get<std::string>();
    for (const auto& row : json["hf"]["parameters"]) out.lr_scale[row["name"].get<std::string>()] = row["lr_scale"].get<double>();
    return out;
  }();
  return loaded;
}

// Every tensor's lr_mult, constant or computed, from the rules in `source`.
std::map<std::string, double> multipliers(const SourceRef& source) {
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(source, diagnostics,
                                          [](const std::string& path, const SourceFile& from, std::string&) -> SourceRef {
                                            std::filesystem::path beside = std::filesystem::path(from.path).parent_path() / path;
                                            if (std::filesystem::exists(beside)) return load_source(beside.string());
                                            return load_source(root + "/stdlib/" + path);
                                          });
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(root + "/tests/data/dumps/swin_t.json");
  EvalResult result = evaluate(rules.program, table);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  std::map<std::string, double> out;
  for (const auto& group : result.groups) {
    for (const auto& option : group.options)
      if (option.key == "lr_mult" && !option.computed)
        if (const double* value = std::get_if<double>(&option.value.value))
          for (std::size_t i : group.tensors) out[table.tensors[i].name] = *value;
    for (const auto& entry : group.per_tensor)
      for (const auto& [key, value] : entry.values)
        if (key == "lr_mult") out[table.tensors[entry.tensor].name] = std::get<double>(value.value);
  }
  return out;
}

// Each of `got` is timm's value for that parameter; returns how many were compared.
std::size_t check_against_timm(const std::map<std::string, double>& got) {
  std::size_t compared = 0;
  for (const auto& [name, value] : got) {
    CAPTURE(name);
    auto found = expected().lr_scale.find(name);
    REQUIRE(found != expected().lr_scale.end());
    CHECK(value == doctest::Approx(found->second).epsilon(1e-12));
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("Swin-T expected values: timm's lr scales for all 221 parameters - from a recorded commit") {
  CHECK(expected().commit.size() == 40);
  REQUIRE(expected().lr_scale.size() == 221);
  // Block b of stage s is layer 1 + b + sum(depths[:s]) of 13: monotonic from the stem to the head.
  const auto& lr = expected().lr_scale;
  CHECK(lr.at("swin.encoder.layers.2.blocks.5.mlp.fc1.weight") == doctest::Approx(std::pow(0.9, 3)));
  CHECK(lr.at("swin.encoder.layers.3.blocks.0.mlp.fc1.weight") == doctest::Approx(std::pow(0.9, 2)));
  CHECK(lr.at("swin.encoder.layers.2.blocks.5.mlp.fc1.weight") < lr.at("swin.encoder.layers.3.blocks.0.mlp.fc1.weight"));
}

TEST_CASE("Swin-T layer decay (tests/data/rules/tx/layer_decay.tx): every parameter gets timm's lr scale") {
  auto got = multipliers(load_source(root + "/tests/data/rules/tx/layer_decay.tx"));
  CHECK(check_against_timm(got) == 221);
}

TEST_CASE("Swin-T layer decay (stdlib/layer_decay/hf_swin_t.tx): every parameter gets timm's lr scale") {
  auto got = multipliers(load_source(root + "/stdlib/layer_decay/hf_swin_t.tx"));
  CHECK(check_against_timm(got) == 221);
}

TEST_CASE("Swin-T layer decay (the example in docs/language.md): every block parameter gets timm's lr scale") {
  std::ifstream in(root + "/docs/language.md");
  std::ostringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  std::size_t at = doc.find("# Layer-wise decay 0.9 over Swin-T's blocks");
  REQUIRE(at != std::string::npos);
  std::size_t begin = doc.rfind("```tx\n", at);
  REQUIRE(begin != std::string::npos);
  begin += 6;
  std::string example = doc.substr(begin, doc.find("```\n", at) - begin);
  auto got = multipliers(std::make_shared<SourceFile>(SourceFile{"docs/language.md", example}));
  std::size_t blocks = 0;
  for (const auto& [name, scale] : expected().lr_scale) blocks += name.find(".blocks.") != std::string::npos;
  CHECK(blocks == 204);  // 12 blocks of 17
  CHECK(check_against_timm(got) == blocks);  // the example sets the blocks only, each as timm does
}
