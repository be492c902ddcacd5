// stdlib presets: layer-wise decay gives timm's multipliers at every boundary.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "runtime/files.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

namespace {

std::map<std::string, double> multipliers(const std::string& preset, const std::string& dump) {
  std::string root = TAXON_SOURCE_DIR;
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(root + "/stdlib/" + preset), diagnostics,
                                          [&](const std::string& path, const SourceFile& from, std::string& error) -> SourceRef {
                                            (void)error;
                                            return load_source((std::filesystem::path(from.path).parent_path() / path).string());
                                          });
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(root + "/tests/data/dumps/" + dump);
  EvalResult result = evaluate(rules.program, table);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  std::map<std::string, double> out;
  for (const auto& group : result.groups) {
    for (std::size_t i : group.tensors) {
      const std::string tensor(table.tensors[i].name);
      for (const auto& option : group.options)
        if (option.key == "lr_mult" && !option.computed) {
          if (const double* d = std::get_if<double>(&option.value.value)) out[tensor] = *d;
        }
    }
    for (const auto& entry : group.per_tensor)
      for (const auto& [key, value] : entry.values)
        if (key == "lr_mult") out[std::string(table.tensors[entry.tensor].name)] = std::get<double>(value.value);
  }
  return out;
}

}  // namespace

TEST_CASE("ViT-B/16 layer decay: embeddings 0.75^13 - block N 0.75^(12-N) - the final norm with the last block - the head 1") {
  auto lr = multipliers("layer_decay/hf_vit_b16.tx", "vit_b16.json");
  CHECK(lr.size() == 200);  // every parameter has a multiplier
  CHECK(lr["vit.embeddings.cls_token"] == doctest::Approx(std::pow(0.75, 13)));
  CHECK(lr["vit.layers.0.mlp.fc1.weight"] == doctest::Approx(std::pow(0.75, 12)));
  CHECK(lr["vit.layers.0.mlp.fc1.bias"] == doctest::Approx(std::pow(0.75, 12)));  // no decay, same layer
  CHECK(lr["vit.layers.11.attention.q_proj.weight"] == doctest::Approx(0.75));
  CHECK(lr["vit.layernorm.weight"] == doctest::Approx(0.75));  // timm's `^norm` joins the last block
  CHECK(lr["classifier.weight"] == doctest::Approx(1.0));
}

// Every parameter against timm's own values: tests/runtime/layer_decay_timm_test.cpp.
TEST_CASE("Swin-T layer decay: blocks by stage offsets 0 - 2 - 4 - 10 - downsampling with the next stage's block 0") {
  auto lr = multipliers("layer_decay/hf_swin_t.tx", "swin_t.json");
  CHECK(lr.size() == 221);
  CHECK(lr["swin.embeddings.norm.weight"] == doctest::Approx(std::pow(0.9, 13)));
  CHECK(lr["swin.encoder.layers.0.blocks.0.mlp.fc1.weight"] == doctest::Approx(std::pow(0.9, 12)));  // layer 1
  CHECK(lr["swin.encoder.layers.2.blocks.5.mlp.fc1.weight"] == doctest::Approx(std::pow(0.9, 3)));   // layer 10
  CHECK(lr["swin.encoder.layers.2.downsample.reduction.weight"] == doctest::Approx(std::pow(0.9, 2)));  // layer 11
  CHECK(lr["swin.encoder.layers.3.blocks.0.mlp.fc1.weight"] == doctest::Approx(std::pow(0.9, 2)));  // layer 11
  CHECK(lr["swin.encoder.layers.3.blocks.1.mlp.fc2.bias"] == doctest::Approx(0.9));                 // layer 12
  CHECK(lr["swin.layernorm.weight"] == doctest::Approx(0.9));  // with the last block
  CHECK(lr["classifier.bias"] == doctest::Approx(1.0));
}

TEST_CASE("BEiT-B/16 (timm naming) layer decay: stem 0.65^13 - block N 0.65^(12-N) - fc_norm and head 1") {
  auto lr = multipliers("layer_decay/timm_beit_b16.tx", "beit_b16.json");
  CHECK(lr.size() == 199);  // every parameter; the buffers (relative_position_index, k_bias) take none
  CHECK(lr["cls_token"] == doctest::Approx(std::pow(0.65, 13)));
  CHECK(lr["patch_embed.proj.weight"] == doctest::Approx(std::pow(0.65, 13)));
  CHECK(lr["blocks.0.gamma_1"] == doctest::Approx(std::pow(0.65, 12)));
  CHECK(lr["blocks.0.attn.qkv.weight"] == doctest::Approx(std::pow(0.65, 12)));
  CHECK(lr["blocks.5.attn.relative_position_bias_table"] == doctest::Approx(std::pow(0.65, 7)));
  CHECK(lr["blocks.11.mlp.fc2.weight"] == doctest::Approx(0.65));
  CHECK(lr["fc_norm.weight"] == doctest::Approx(1.0));
  CHECK(lr["head.weight"] == doctest::Approx(1.0));
}

TEST_CASE("BEiT-B/16: weight decay off exactly where timm takes it off") {
  std::string root = TAXON_SOURCE_DIR;
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(load_source(root + "/stdlib/layer_decay/timm_beit_b16.tx"), diagnostics,
                                          [&](const std::string& path, const SourceFile& from, std::string&) -> SourceRef {
                                            return load_source((std::filesystem::path(from.path).parent_path() / path).string());
                                          });
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(root + "/tests/data/dumps/beit_b16.json");
  EvalResult result = evaluate(rules.program, table);
  std::set<std::string> no_decay;
  for (const auto& group : result.groups)
    if (group.name.ends_with("no_decay"))
      for (std::size_t i : group.tensors) no_decay.emplace(table.tensors[i].name);
  // timm: ndim <= 1 or a bias, or in Beit.no_weight_decay() (cls_token, pos_embed, relative_position_bias_table).
  std::set<std::string> expected;
  for (const auto& tensor : table.tensors)
    if (tensor.kind == TensorKind::parameter &&
        (tensor.rank() <= 1 || tensor.name.ends_with(".bias") || tensor.name == "cls_token" ||
         tensor.name.find("relative_position_bias_table") != std::string::npos))
      expected.emplace(tensor.name);
  CHECK(no_decay == expected);
  CHECK(no_decay.size() == 1 + 1 + 12 * 12 + 2 + 1);  // cls, patch bias, 12 per block, fc_norm, head bias
}
