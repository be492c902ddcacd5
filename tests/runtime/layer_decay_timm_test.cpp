// Layer-wise decay against timm itself: every parameter's lr_mult, from the rule files and the
// docs example, is the lr_scale timm's param_groups_layer_decay gives the same parameter; for
// ViT-B/16, whose preset sets weight decay too, every parameter takes weight decay exactly where
// timm does (tests/data/layer_decay/swin_t_expected.json and vit_b16_expected.json, written by
// make_expected.py from a timm checkout; the commit is in each file).
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
#include "tests/test_support.hpp"

using namespace taxon;

namespace {

using testing::number;
using testing::source_root;

struct Expected {
  std::string commit;
  std::string model;                             // timm's model name
  std::string dump;                              // the taxon dump, Hugging Face naming
  std::map<std::string, double> lr_scale;        // Hugging Face name -> timm's lr_scale
  std::map<std::string, double> weight_decay;    // Hugging Face name -> timm's weight_decay
};

Expected load_expected(const std::string& file) {
  std::ifstream in(source_root + "/tests/data/layer_decay/" + file);
  nlohmann::json json = nlohmann::json::parse(in);
  Expected out;
  out.commit = json["timm"]["commit"].get<std::string>();
  out.model = json["timm"]["model"].get<std::string>();
  out.dump = json["hf"]["dump"].get<std::string>();
  for (const auto& row : json["hf"]["parameters"]) {
    out.lr_scale[row["name"].get<std::string>()] = row["lr_scale"].get<double>();
    out.weight_decay[row["name"].get<std::string>()] = row["weight_decay"].get<double>();
  }
  return out;
}

const Expected& swin() {
  static const Expected loaded = load_expected("swin_t_expected.json");
  return loaded;
}

const Expected& vit() {
  static const Expected loaded = load_expected("vit_b16_expected.json");
  return loaded;
}

// What the rules in `source` give each tensor of `dump`: lr_mult (constant or computed) and
// weight_decay (where a group sets it).
struct Options {
  std::map<std::string, double> lr_mult;
  std::map<std::string, double> weight_decay;
};

Options options(const SourceRef& source, const std::string& dump) {
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(source, diagnostics,
                                          [](const std::string& path, const SourceFile& from, std::string&) -> SourceRef {
                                            std::filesystem::path beside = std::filesystem::path(from.path).parent_path() / path;
                                            if (std::filesystem::exists(beside)) return load_source(beside.string());
                                            return load_source(source_root + "/stdlib/" + path);
                                          });
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(source_root + "/" + dump);
  EvalResult result = evaluate(rules.program, table);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  Options out;
  for (const auto& group : result.groups) {
    for (const auto& option : group.options) {
      if (option.computed) continue;
      std::map<std::string, double>* into = option.key == "lr_mult"        ? &out.lr_mult
                                            : option.key == "weight_decay" ? &out.weight_decay
                                                                           : nullptr;
      if (into)
        for (std::size_t i : group.tensors) (*into)[std::string(table.tensors[i].name)] = number(option.value);
    }
    for (const auto& entry : group.per_tensor)
      for (const auto& [key, value] : entry.values)
        if (key == "lr_mult") out.lr_mult[std::string(table.tensors[entry.tensor].name)] = std::get<double>(value.value);
  }
  return out;
}

std::map<std::string, double> multipliers(const SourceRef& source) { return options(source, swin().dump).lr_mult; }

// Each of `got` is timm's value for that parameter; returns how many were compared.
std::size_t check_against_timm(const std::map<std::string, double>& got, const Expected& expected = swin()) {
  std::size_t compared = 0;
  for (const auto& [name, value] : got) {
    CAPTURE(name);
    auto found = expected.lr_scale.find(name);
    REQUIRE(found != expected.lr_scale.end());
    CHECK(value == doctest::Approx(found->second).epsilon(1e-12));
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("Swin-T expected values (tests/data/layer_decay/swin_t_expected.json): timm's lr scales for all 221 parameters - from a recorded commit") {
  CHECK(swin().commit.size() == 40);
  REQUIRE(swin().lr_scale.size() == 221);
  // Block b of stage s is layer 1 + b + sum(depths[:s]) of 13: monotonic from the stem to the head.
  const auto& lr = swin().lr_scale;
  CHECK(lr.at("swin.encoder.layers.2.blocks.5.mlp.fc1.weight") == doctest::Approx(std::pow(0.9, 3)));
  CHECK(lr.at("swin.encoder.layers.3.blocks.0.mlp.fc1.weight") == doctest::Approx(std::pow(0.9, 2)));
  CHECK(lr.at("swin.encoder.layers.2.blocks.5.mlp.fc1.weight") < lr.at("swin.encoder.layers.3.blocks.0.mlp.fc1.weight"));
}

TEST_CASE("Swin-T layer decay (tests/data/rules/tx/layer_decay.tx): every parameter gets timm's lr scale") {
  auto got = multipliers(load_source(source_root + "/tests/data/rules/tx/layer_decay.tx"));
  CHECK(check_against_timm(got) == 221);
}

TEST_CASE("Swin-T layer decay (stdlib/layer_decay/hf_swin_t.tx): every parameter gets timm's lr scale") {
  auto got = multipliers(load_source(source_root + "/stdlib/layer_decay/hf_swin_t.tx"));
  CHECK(check_against_timm(got) == 221);
}

TEST_CASE("Swin-T layer decay (stdlib/layer_decay/hf_swin_t.tx) on transformers 4 names: every parameter gets timm's lr scale") {
  // tests/data/dumps/derived/swin_t_transformers4.json: the same model as transformers 4 names it
  // (make_derived_dumps.py); each name is mapped back to transformers 5's to find timm's value.
  Options got = options(load_source(source_root + "/stdlib/layer_decay/hf_swin_t.tx"), "tests/data/dumps/derived/swin_t_transformers4.json");
  auto transformers5 = [](std::string name) {
    static const std::pair<std::string, std::string> kParts[] = {
        {".attention.self.query.", ".attention.q_proj."},
        {".attention.self.key.", ".attention.k_proj."},
        {".attention.self.value.", ".attention.v_proj."},
        {".attention.output.dense.", ".attention.o_proj."},
        {".attention.self.relative_position_bias_table", ".attention.relative_position_bias.relative_position_bias_table"},
        {".intermediate.dense.", ".mlp.fc1."},
        {".output.dense.", ".mlp.fc2."}};
    for (const auto& [from, to] : kParts)
      if (auto at = name.find(from); at != std::string::npos) return name.replace(at, from.size(), to);
    return name;
  };
  std::map<std::string, double> lr;
  for (const auto& [name, value] : got.lr_mult) {
    CHECK(name.find("_proj.") == std::string::npos);  // the names are transformers 4's
    lr[transformers5(name)] = value;
  }
  CHECK(check_against_timm(lr) == 221);
}

TEST_CASE("Swin-T layer decay (the example in docs/language.md): every block parameter gets timm's lr scale") {
  std::ifstream in(source_root + "/docs/language.md");
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
  for (const auto& [name, scale] : swin().lr_scale) blocks += name.find(".blocks.") != std::string::npos;
  CHECK(blocks == 204);  // 12 blocks of 17
  CHECK(check_against_timm(got) == blocks);  // the example sets the blocks only, each as timm does
}

TEST_CASE("ViT-B/16 expected values (tests/data/layer_decay/vit_b16_expected.json): timm's lr scales for all 200 parameters - from a recorded commit") {
  CHECK(vit().commit.size() == 40);
  CHECK(vit().model == "vit_base_patch16_224");
  REQUIRE(vit().lr_scale.size() == 200);
  // Stem layer 0, block N layer N + 1, the final norm with the last block (timm's MATCH_PREV_GROUP),
  // the head alone at layer 13.
  const auto& lr = vit().lr_scale;
  CHECK(lr.at("vit.embeddings.cls_token") == doctest::Approx(std::pow(0.75, 13)));
  CHECK(lr.at("vit.layers.0.mlp.fc1.weight") == doctest::Approx(std::pow(0.75, 12)));
  CHECK(lr.at("vit.layers.11.mlp.fc1.weight") == doctest::Approx(0.75));
  CHECK(lr.at("vit.layernorm.weight") == doctest::Approx(0.75));
  CHECK(lr.at("classifier.weight") == doctest::Approx(1.0));
}

TEST_CASE("ViT-B/16 layer decay (stdlib/layer_decay/hf_vit_b16.tx): every parameter gets timm's lr scale and weight decay") {
  Options got = options(load_source(source_root + "/stdlib/layer_decay/hf_vit_b16.tx"), vit().dump);
  CHECK(check_against_timm(got.lr_mult, vit()) == 200);
  // timm gives weight decay 0 or the optimizer's (0.05 in the generator); the preset sets
  // weight_decay = 0 on exactly timm's zeros and leaves the rest to the optimizer's default.
  std::size_t zeros = 0;
  for (const auto& [name, decay] : vit().weight_decay) {
    CAPTURE(name);
    auto set = got.weight_decay.find(name);
    if (decay == 0.0) {
      ++zeros;
      REQUIRE(set != got.weight_decay.end());
      CHECK(set->second == 0.0);
    } else {
      CHECK(set == got.weight_decay.end());
    }
  }
  CHECK(zeros == 126);  // cls_token, position embeddings, every bias and norm parameter
}

TEST_CASE("ViT-B/16 layer decay (stdlib/layer_decay/hf_vit_b16.tx) on transformers 4 names: timm's lr scale and weight decay") {
  // tests/data/dumps/derived/vit_b16_transformers4.json: the same model as transformers 4 names it
  // (make_derived_dumps.py); each name is mapped back to transformers 5's to find timm's value.
  Options got = options(load_source(source_root + "/stdlib/layer_decay/hf_vit_b16.tx"), "tests/data/dumps/derived/vit_b16_transformers4.json");
  auto transformers5 = [](std::string name) {
    static const std::pair<std::string, std::string> kParts[] = {
        {".attention.attention.query.", ".attention.q_proj."}, {".attention.attention.key.", ".attention.k_proj."},
        {".attention.attention.value.", ".attention.v_proj."}, {".attention.output.dense.", ".attention.o_proj."},
        {".intermediate.dense.", ".mlp.fc1."},                 {".output.dense.", ".mlp.fc2."}};
    if (!name.starts_with("vit.encoder.layer.")) return name;
    name = "vit.layers." + name.substr(18);
    for (const auto& [from, to] : kParts)
      if (auto at = name.find(from); at != std::string::npos) return name.replace(at, from.size(), to);
    return name;
  };
  std::map<std::string, double> lr, decay;
  for (const auto& [name, value] : got.lr_mult) lr[transformers5(name)] = value;
  for (const auto& [name, value] : got.weight_decay) decay[transformers5(name)] = value;
  CHECK(check_against_timm(lr, vit()) == 200);
  std::size_t zeros = 0;
  for (const auto& [name, expected] : vit().weight_decay) {
    CAPTURE(name);
    if (expected == 0.0) {
      ++zeros;
      REQUIRE(decay.contains(name));
      CHECK(decay.at(name) == 0.0);
    } else {
      CHECK_FALSE(decay.contains(name));
    }
  }
  CHECK(zeros == 126);
}
