// The numbers the examples of docs/language.md and the layer-decay presets give, checked against
// a computation of their own: the first example's options by the formula it states, written out
// here tensor by tensor; the BEiT example and preset against timm's param_groups_layer_decay
// itself (tests/data/layer_decay/beit_b16_expected.json, written by make_beit_expected.py from a
// timm checkout whose commit the file records).
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

// The example of docs/language.md that contains `marker`.
std::string doc_example(const std::string& marker) {
  std::ifstream in(source_root + "/docs/language.md");
  std::ostringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  std::size_t at = doc.find(marker);
  REQUIRE(at != std::string::npos);
  std::size_t begin = doc.rfind("```tx\n", at) + 6;
  return doc.substr(begin, doc.find("```\n", at) - begin);
}

// Per tensor: the groups it joined, and each numeric option it ends with there.
struct Outcome {
  std::map<std::string, std::vector<std::string>> groups;
  std::map<std::string, std::map<std::string, double>> options;
};

Outcome evaluate_source(const SourceRef& source, const std::string& dump, const tx::Parameters& parameters = {}) {
  Diagnostics diagnostics;
  tx::Lowered rules = tx::parse_and_lower(
      source, diagnostics,
      [](const std::string& path, const SourceFile& from, std::string&) -> SourceRef {
        std::filesystem::path beside = std::filesystem::path(from.path).parent_path() / path;
        if (std::filesystem::exists(beside)) return load_source(beside.string());
        return load_source(source_root + "/stdlib/" + path);
      },
      parameters);
  REQUIRE_FALSE(diagnostics.has_errors());
  TensorTable table = read_model_dump(source_root + "/" + dump);
  EvalResult result = evaluate(rules.program, table);
  REQUIRE_FALSE(result.diagnostics.has_errors());
  Outcome out;
  for (const auto& group : result.groups)
    for (std::size_t k = 0; k < group.tensors.size(); ++k) {
      const std::string name(table.tensors[group.tensors[k]].name);
      out.groups[name].push_back(group.name);
      for (const auto& option : group.options)
        if (!option.computed && (std::holds_alternative<double>(option.value.value) ||
                                 std::holds_alternative<int64_t>(option.value.value)))
          out.options[name][option.key] = number(option.value);
      if (k < group.per_tensor.size())
        for (const auto& [key, value] : group.per_tensor[k].values) out.options[name][key] = number(value);
    }
  return out;
}

struct TimmValues {
  std::string commit;
  std::map<std::string, std::pair<double, double>> by_name;  // lr_scale, weight_decay
};

TimmValues timm_beit(const std::string& decay) {
  std::ifstream in(source_root + "/tests/data/layer_decay/beit_b16_expected.json");
  nlohmann::json json = nlohmann::json::parse(in);
  TimmValues out{json["timm"]["commit"].get<std::string>(), {}};
  for (const auto& row : json["decays"][decay]["parameters"])
    out.by_name[row["name"].get<std::string>()] = {row["lr_scale"].get<double>(), row["weight_decay"].get<double>()};
  return out;
}

// Each parameter's lr_mult is timm's lr_scale, and its weight decay timm's (0.05 where the
// rules leave it to the optimizer, as the generator asked timm for 0.05).
void check_beit(const Outcome& got, const TimmValues& timm) {
  REQUIRE(timm.commit.size() == 40);
  REQUIRE(timm.by_name.size() == 199);
  CHECK(got.groups.size() == 199);
  for (const auto& [name, expected] : timm.by_name) {
    CAPTURE(name);
    REQUIRE(got.options.contains(name));
    const auto& options = got.options.at(name);
    CHECK(options.at("lr_mult") == doctest::Approx(expected.first).epsilon(1e-12));
    double decay = options.contains("weight_decay") ? options.at("weight_decay") : 0.05;
    CHECK(decay == expected.second);
  }
}

}  // namespace

TEST_CASE("docs/language.md first example on vit_tiny: every parameter's options are the formula's") {
  std::string example = doc_example("# Optimizer groups for a ViT: layer-wise decay");
  Outcome got = evaluate_source(std::make_shared<SourceFile>(SourceFile{"docs/language.md", example}),
                                "tests/data/dumps/vit_tiny.json");
  TensorTable table = read_model_dump(source_root + "/tests/data/dumps/vit_tiny.json");
  std::size_t checked = 0;
  for (const auto& tensor : table.tensors) {
    if (tensor.kind != TensorKind::parameter || tensor.tied_to) continue;
    const std::string name(tensor.name);
    CAPTURE(name);
    bool frozen = name.starts_with("vit.embeddings.patch_embeddings.");
    if (frozen) {  // freeze : module under {"vit.embeddings.patch_embeddings"}: in no group
      CHECK_FALSE(got.groups.contains(name));
      continue;
    }
    // By hand: the head takes lr_mult 10; block i of a 2-block model 0.75 ** (2 - i); the rest
    // the defaults' 1.0. Weight decay 0 for 1-D parameters, LayerNorm parameters and biases.
    double lr = 1.0;
    if (name.starts_with("classifier.")) lr = 10;
    else if (name.starts_with("vit.layers.")) lr = std::pow(0.75, 2 - std::stoi(name.substr(11)));
    bool no_decay = tensor.rank() == 1 || tensor.module_type == "LayerNorm" || name.ends_with(".bias");
    REQUIRE(got.groups.contains(name));
    CHECK(got.groups.at(name).size() == 1);
    CHECK(got.options.at(name).at("lr_mult") == doctest::Approx(lr).epsilon(1e-15));
    CHECK(got.options.at(name).at("weight_decay") == (no_decay ? 0.0 : 0.05));
    ++checked;
  }
  CHECK(checked == 38);  // 40 parameters, 2 frozen
  CHECK(got.groups.at("vit.layers.0.mlp.fc1.bias") == std::vector<std::string>{"rest/layer_0/no_decay"});
  CHECK(got.groups.at("vit.layers.1.mlp.fc1.weight") == std::vector<std::string>{"rest/layer_1"});
  CHECK(got.groups.at("classifier.bias") == std::vector<std::string>{"head/no_decay"});
}

TEST_CASE("docs/language.md BEiT example: every parameter as timm's param_groups_layer_decay at 0.65") {
  std::string example = doc_example("# timm's BEiT recipe");
  Outcome got = evaluate_source(std::make_shared<SourceFile>(SourceFile{"docs/language.md", example}),
                                "tests/data/dumps/beit_b16.json");
  check_beit(got, timm_beit("0.65"));
}

TEST_CASE("stdlib/layer_decay/timm_beit_b16.tx: timm's values at its default 0.65 and with --param decay=0.75") {
  SourceRef preset = load_source(source_root + "/stdlib/layer_decay/timm_beit_b16.tx");
  check_beit(evaluate_source(preset, "tests/data/dumps/beit_b16.json"), timm_beit("0.65"));
  check_beit(evaluate_source(preset, "tests/data/dumps/beit_b16.json", {{"decay", "0.75"}}), timm_beit("0.75"));
}
