// The public API (include/taxon/) on its own: nothing of taxon's but those headers is included, so
// a program that embeds taxon can do everything shown here (nlohmann::json reads a dump back). Expected values are worked out by hand
// from the rules and the tensors below.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "taxon/format.hpp"
#include "taxon/taxon.hpp"

namespace {

// llama_tiny's DDP checkpoint (every key with "module.") applied to llama_tiny itself.
taxon::ApplyOptions ddp_into_llama() {
  taxon::ApplyOptions options;
  options.checkpoints = {TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt"};
  options.target = taxon::Model::from_checkpoint(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/model.safetensors");
  return options;
}

taxon::Model tiny_model() {
  return taxon::Model({
      {.name = "embed.weight", .shape = {100, 8}},
      {.name = "blocks.0.attn.weight", .shape = {8, 8}, .module = "blocks.0.attn", .module_type = "Linear"},
      {.name = "blocks.0.norm.weight", .shape = {8}, .module = "blocks.0.norm", .module_type = "LayerNorm"},
      {.name = "blocks.1.attn.weight", .shape = {8, 8}, .module = "blocks.1.attn", .module_type = "Linear"},
      {.name = "head.weight", .shape = {10, 8}, .module = "head", .module_type = "Linear"},
      {.name = "head.bias", .shape = {10}, .module = "head", .module_type = "Linear"},
  });
}

}  // namespace

TEST_CASE("front door: rules parsed from text group a model built in code") {
  taxon::Rules rules = taxon::Rules::parse(R"(
group no_decay : rank <= 1 { weight_decay = 0.0 }
group head : name starts "head." { lr = 0.01 }
)");
  REQUIRE(rules.ok());
  taxon::Report report = taxon::evaluate(rules, tiny_model());
  REQUIRE(report.groups.size() == 3);  // no_decay, head, the default group
  CHECK(report.groups[0].name == "no_decay");
  CHECK(report.groups[0].tensors == std::vector<std::string>{"blocks.0.norm.weight", "head.bias"});
  REQUIRE(report.groups[0].options.size() == 1);
  CHECK(report.groups[0].options[0].name == "weight_decay");
  CHECK(report.groups[0].options[0].number == 0.0);
  CHECK(report.groups[1].tensors == std::vector<std::string>{"head.weight"});  // head.bias went to the first match
  CHECK(report.groups[2].is_default);
  CHECK(report.groups[2].tensors.size() == 3);
  CHECK(report.json().find("\"no_decay\"") != std::string::npos);
  CHECK_FALSE(report.has_errors());
}

TEST_CASE("front door: a rule error is a finding with a code - position and caret") {
  taxon::Rules rules = taxon::Rules::parse("group ok : rank == 1\ngroup g : name ~ /(/\n", "bad.tx");
  CHECK_FALSE(rules.ok());
  auto findings = rules.findings();
  REQUIRE_FALSE(findings.empty());
  CHECK(findings[0].code == "T0301");
  CHECK(findings[0].file == "bad.tx");
  CHECK(findings[0].line == 2);
  CHECK(findings[0].rendered.find('^') != std::string::npos);
  CHECK_THROWS_AS(taxon::evaluate(rules, tiny_model()), taxon::Error);
}

TEST_CASE("front door: a missing file is a taxon::Error with its code") {
  try {
    taxon::Rules::load("tests/data/no_such_rules.tx");
    FAIL("no error");
  } catch (const taxon::Error& error) {
    CHECK(error.code() == "T0601");
  }
}

TEST_CASE("front door: stdlib_presets names what Rules::load takes by name - sorted - each one loads") {
  std::vector<std::string> presets = taxon::stdlib_presets();
  CHECK(std::is_sorted(presets.begin(), presets.end()));
  CHECK(std::find(presets.begin(), presets.end(), "timm/layer_decay") != presets.end());
  CHECK(std::find(presets.begin(), presets.end(), "prefixes") != presets.end());
  for (const auto& name : presets) {
    CAPTURE(name);
    CHECK(taxon::Rules::load(name).ok());
  }
}

TEST_CASE("front door: a plan applied to a DDP checkpoint - judged - then written") {
  taxon::Rules rules = taxon::Rules::parse("plan unwrap {\n  strip \"module.\"\n  load strict = true\n}\n");
  REQUIRE(rules.ok());
  taxon::ApplyOptions options = ddp_into_llama();
  taxon::Application application = taxon::plan_application(rules, options);
  REQUIRE(application.ok());
  CHECK_FALSE(application.load_fails());

  auto out = std::filesystem::temp_directory_path() / "taxon_front_door_test.safetensors";
  std::filesystem::remove(out);
  auto written = application.write(out.string());
  CHECK(written == std::vector<std::string>{out.string()});
  taxon::Model back = taxon::Model::from_checkpoint(out.string());
  auto by_name = [](std::vector<taxon::ModelTensor> tensors) {
    std::map<std::string, std::vector<int64_t>> out;
    for (auto& tensor : tensors) out.emplace(tensor.name, tensor.shape);
    return out;
  };
  CHECK(by_name(back.tensors()) == by_name(options.target->tensors()));
  std::filesystem::remove(out);

  // Without the strip, a strict load finds every key unexpected: the verdict says so, and nothing is written.
  taxon::Rules as_is = taxon::Rules::parse("plan as_is {\n  load strict = true\n}\n");
  taxon::Application failing = taxon::plan_application(as_is, options);
  CHECK(failing.load_fails());
  CHECK(failing.hint().find("strip \"module.\"") != std::string::npos);
  CHECK_THROWS_AS(failing.write(out.string()), taxon::Error);
  CHECK_FALSE(std::filesystem::exists(out));
}

// The bytes of each tensor of a .safetensors file, read with nothing of taxon's: 8 bytes of header
// length, the JSON header, the data. Enough of a parser for the fixture's flat header.
std::map<std::string, std::string> safetensors_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  uint64_t length = 0;
  std::memcpy(&length, raw.data(), 8);
  std::string header = raw.substr(8, length);
  std::map<std::string, std::string> out;
  for (std::size_t at = header.find("\"data_offsets\""); at != std::string::npos; at = header.find("\"data_offsets\"", at + 1)) {
    std::size_t name_end = header.rfind("\":{", at);
    std::size_t name_start = header.rfind('"', name_end - 1) + 1;
    std::size_t begin = 0, end = 0;
    std::sscanf(header.c_str() + header.find('[', at), "[%zu,%zu]", &begin, &end);
    out[header.substr(name_start, name_end - name_start)] = raw.substr(8 + length + begin, end - begin);
  }
  return out;
}

TEST_CASE("front door: a plan's tensors in memory are the checkpoint's bytes - its outcome section by section") {
  taxon::Rules rules = taxon::Rules::parse(
      "plan unwrap {\n  strip \"module.\"\n  rename /^lm_head\\.(.*)$/ -> \"output.$1\"\n  load strict = false\n}\n");
  REQUIRE(rules.ok());
  taxon::ApplyOptions options = ddp_into_llama();
  taxon::Application application = taxon::plan_application(rules, options);
  REQUIRE(application.ok());
  taxon::PlanOutcome outcome = application.outcome();
  REQUIRE(outcome.renamed.size() == 1);
  CHECK(outcome.renamed[0].from == "lm_head.weight");
  CHECK(outcome.renamed[0].to == "output.weight");
  CHECK(outcome.unexpected == std::vector<std::string>{"output.weight"});
  CHECK(outcome.missing == std::vector<std::string>{"lm_head.weight"});
  CHECK_FALSE(outcome.strict);
  CHECK(outcome.keys.size() == options.target->size());

  std::map<std::string, std::string> expected = safetensors_bytes(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/model.safetensors");
  REQUIRE(expected.size() == options.target->size());
  std::vector<std::string> seen;
  application.for_each_tensor(
      [&](const taxon::TensorView& tensor) {
        seen.emplace_back(tensor.name);
        CAPTURE(tensor.name);
        REQUIRE(expected.contains(std::string(tensor.name)));
        CHECK(std::string(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size()) ==
              expected.at(std::string(tensor.name)));
        CHECK(tensor.dtype == "float32");
      },
      [](std::string_view name) { return !name.starts_with("output."); });  // what the target lacks is not made
  CHECK(seen.size() == outcome.keys.size() - 1);
}

TEST_CASE("front door: lint finds nothing in a clean file - and a file that does not parse is a finding") {
  taxon::Model llama = taxon::Model::from_dump(TAXON_SOURCE_DIR "/tests/data/dumps/llama_tiny.json");
  taxon::LintReport clean = taxon::lint({TAXON_SOURCE_DIR "/examples/embed/groups.tx"}, {llama});
  CHECK(clean.errors == 0);
  CHECK(clean.warnings == 0);
  CHECK(clean.sarif().find("\"version\": \"2.1.0\"") != std::string::npos);

  auto bad = std::filesystem::temp_directory_path() / "taxon_front_door_bad.tx";
  {
    std::FILE* file = std::fopen(bad.c_str(), "w");
    std::fputs("group g : name ~ /(/\n", file);
    std::fclose(file);
  }
  taxon::LintReport broken = taxon::lint({bad.string()});
  std::filesystem::remove(bad);
  CHECK(broken.errors == 1);
  REQUIRE(broken.findings.size() == 1);
  CHECK(broken.findings[0].code == "T0301");
  CHECK(broken.json().find("\"errors\": 1") != std::string::npos);
}

TEST_CASE("front door: explain says which groups a tensor joins - term by term - and what it computes") {
  taxon::Rules rules = taxon::Rules::parse(R"(
freeze : name starts "embed."
group no_decay : rank <= 1 { weight_decay = 0.0 }
group layers : name ~ /^blocks\.(?P<i>\d+)\./ and rank == 2 { lr_mult = 0.5 ** (1 - i) }
)");
  REQUIRE(rules.ok());
  taxon::Model model = tiny_model();

  taxon::Explanation attn = taxon::explain(rules, model, "blocks.0.attn.weight");
  CHECK(attn.tensor.name == "blocks.0.attn.weight");
  CHECK(attn.tensor.shape == std::vector<int64_t>{8, 8});
  CHECK(attn.rules_see == "blocks.0.attn.weight");
  CHECK(attn.trainable);
  CHECK(attn.group_mode == "first-match");
  CHECK(attn.joined == std::vector<std::string>{"layers"});
  REQUIRE(attn.selections.size() == 1);
  CHECK(attn.selections[0].name == "freeze");
  CHECK_FALSE(attn.selections[0].matched);
  REQUIRE(attn.groups.size() == 3);  // no_decay, layers, the default group
  CHECK_FALSE(attn.groups[0].matched);
  CHECK_FALSE(attn.groups[0].joined);
  const taxon::RuleExplanation& layers = attn.groups[1];
  CHECK(layers.matched);
  CHECK(layers.joined);
  REQUIRE(layers.predicate);
  REQUIRE(layers.predicate->terms.size() == 2);  // the regex and the rank, both true
  CHECK(layers.predicate->terms[0].matched);
  CHECK(layers.predicate->terms[1].matched);
  CHECK(layers.captures == std::vector<std::pair<std::string, std::string>>{{"i", "0"}});
  REQUIRE(layers.per_tensor.size() == 1);
  CHECK(layers.per_tensor[0].name == "lr_mult");
  CHECK(layers.per_tensor[0].number == 0.5);  // 0.5 ** (1 - 0)
  CHECK(attn.groups[2].name == "DEFAULT");
  CHECK_FALSE(attn.groups[2].predicate);
  CHECK_FALSE(attn.groups[2].joined);
  std::string text = attn.text();
  CHECK(text.starts_with("blocks.0.attn.weight  [8, 8] float32 parameter, owned by blocks.0.attn (Linear), trainable\n"));
  CHECK(text.find("\n=> joins layers\n") != std::string::npos);
  CHECK(text.find("   layers.lr_mult = 0.5\n") != std::string::npos);

  // A norm weight: rank 1, so the first group takes it; the second's regex holds, its rank test does not.
  taxon::Explanation norm = taxon::explain(rules, model, "blocks.0.norm.weight");
  CHECK(norm.joined == std::vector<std::string>{"no_decay"});
  CHECK(norm.groups[0].joined);
  REQUIRE(norm.groups[1].predicate);
  CHECK_FALSE(norm.groups[1].matched);
  CHECK(norm.groups[1].predicate->terms[0].matched);
  CHECK_FALSE(norm.groups[1].predicate->terms[1].matched);
  CHECK(norm.groups[1].per_tensor.empty());

  // Frozen by the rules: no group, not even the default one.
  taxon::Explanation embed = taxon::explain(rules, model, "embed.weight");
  CHECK_FALSE(embed.trainable);
  CHECK(embed.selections[0].matched);
  CHECK(embed.joined.empty());
  CHECK(embed.text().find("\n=> joins no group (frozen parameters never reach the default group)\n") != std::string::npos);

  try {
    taxon::explain(rules, model, "head.bais");
    FAIL("no error");
  } catch (const taxon::Error& error) {
    CHECK(error.code() == "T0605");
    CHECK(std::string(error.what()) == "model: no tensor named 'head.bais'; did you mean 'head.bias'?");
  }

  // For scripts: the same verdicts as JSON, the computed value a number.
  nlohmann::json json = nlohmann::json::parse(attn.json());
  CHECK(json["tensor"]["shape"] == nlohmann::json::array({8, 8}));
  CHECK(json["joined"] == nlohmann::json::array({"layers"}));
  CHECK(json["groups"][1]["name"] == "layers");
  CHECK(json["groups"][1]["joined"] == true);
  CHECK(json["groups"][1]["captures"]["i"] == "0");
  CHECK(json["groups"][1]["per_tensor"]["lr_mult"] == 0.5);
  CHECK(json["groups"][1]["predicate"]["terms"][1]["matched"] == true);
  CHECK(json["groups"][2]["predicate"].is_null());  // the default group has no rule
  CHECK(json["diagnostics"].is_array());
  CHECK_FALSE(attn.has_errors());
}

TEST_CASE("front door: explain reports the rules' findings and their level as evaluate does") {
  // The capture is a word, not a number: an error for every tensor the group takes.
  taxon::Rules rules = taxon::Rules::parse(R"(group g : name ~ /^(?P<i>[a-z]+)\./ { lr_mult = 0.5 ** i })");
  REQUIRE(rules.ok());
  taxon::Model model = tiny_model();
  taxon::Explanation why = taxon::explain(rules, model, "embed.weight");
  taxon::Report report = taxon::evaluate(rules, model);
  CHECK(why.has_errors());
  CHECK(report.has_errors());
  REQUIRE(why.findings.size() == report.findings.size());
  REQUIRE_FALSE(why.findings.empty());
  CHECK(why.findings[0].code == report.findings[0].code);
  CHECK(why.findings[0].level == taxon::Level::error);
  CHECK(nlohmann::json::parse(why.json())["diagnostics"][0]["code"] == why.findings[0].code);

  taxon::Rules clean = taxon::Rules::parse(R"(group g : name ~ /^blocks\.(?P<i>\d+)\./ { lr_mult = 0.5 ** i })");
  CHECK_FALSE(taxon::explain(clean, model, "embed.weight").has_errors());
}

namespace {

// The fixture's tensors, from its architecture: a vocabulary of 100, width 32, MLP 64, keys and
// values 16 wide, two layers.
std::map<std::string, std::vector<int64_t>> llama_tiny_shapes() {
  std::map<std::string, std::vector<int64_t>> out{
      {"lm_head.weight", {100, 32}}, {"model.embed_tokens.weight", {100, 32}}, {"model.norm.weight", {32}}};
  for (std::string layer : {"model.layers.0.", "model.layers.1."}) {
    out[layer + "input_layernorm.weight"] = {32};
    out[layer + "post_attention_layernorm.weight"] = {32};
    out[layer + "mlp.down_proj.weight"] = {32, 64};
    out[layer + "mlp.gate_proj.weight"] = {64, 32};
    out[layer + "mlp.up_proj.weight"] = {64, 32};
    out[layer + "self_attn.q_proj.weight"] = {32, 32};
    out[layer + "self_attn.o_proj.weight"] = {32, 32};
    out[layer + "self_attn.k_proj.weight"] = {16, 32};
    out[layer + "self_attn.v_proj.weight"] = {16, 32};
  }
  return out;
}

}  // namespace

TEST_CASE("front door: a checkpoint's dump is model-dump/1 with its tensors - and its notes say what it was read as") {
  const std::string path = TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/model.safetensors";
  taxon::Model model = taxon::Model::from_checkpoint(path);
  nlohmann::json dump = nlohmann::json::parse(model.dump_json());
  CHECK(dump["format"] == "model-dump/1");
  CHECK(dump["model"] == "checkpoint " + path);
  CHECK(dump["objects"] == nlohmann::json::array());
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& tensor : dump["tensors"]) {
    CHECK(tensor["dtype"] == "float32");
    CHECK(tensor["kind"] == "unknown");  // a state dict does not say which are buffers
    CHECK_FALSE(tensor.contains("requires_grad"));
    shapes[tensor["name"]] = tensor["shape"].get<std::vector<int64_t>>();
  }
  CHECK(shapes == llama_tiny_shapes());
  CHECK(model.notes() == std::vector<std::string>{"note: " + path + " (safetensors): 21 tensors, state dict from the file"});

  // Read back as a dump, it is the same model.
  auto json_path = std::filesystem::temp_directory_path() / "taxon_front_door_dump.json";
  {
    std::ofstream file(json_path);
    file << model.dump_json();
  }
  taxon::Model back = taxon::Model::from_dump(json_path.string());
  std::filesystem::remove(json_path);
  REQUIRE(back.size() == 21);
  for (const auto& tensor : back.tensors()) CHECK(tensor.shape == llama_tiny_shapes().at(tensor.name));
  CHECK(back.notes().empty());

  // DistributedDataParallel's prefix is on every key of ddp.pt: the last note says how to strip it.
  taxon::Model ddp = taxon::Model::from_checkpoint(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt", {});
  REQUIRE_FALSE(ddp.notes().empty());
  CHECK(ddp.notes().back() ==
        "note: every key starts with \"module.\" (DistributedDataParallel adds it); a plan removes it with `strip \"module.\"`");
  try {
    taxon::Model::from_checkpoint(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt", {.source = "ema"});
    FAIL("no error");
  } catch (const taxon::Error& error) {
    CHECK(error.code() == "T0608");  // the state dict is not where --source says
  }
}

TEST_CASE("front door: format_rules writes a badly spaced file canonically - and formats that to itself") {
  taxon::Formatted formatted = taxon::format_rules("group   g:rank==1{lr=0.1}\nselect  s :name starts\"x.\"\n", "spaced.tx");
  REQUIRE(formatted.ok);
  CHECK(formatted.findings.empty());
  CHECK(formatted.changed);
  CHECK(formatted.text == "group g : rank == 1 { lr = 0.1 }\nselect s : name starts \"x.\"\n");
  taxon::Formatted again = taxon::format_rules(formatted.text, "spaced.tx");
  CHECK(again.ok);
  CHECK_FALSE(again.changed);
  CHECK(again.text == formatted.text);

  taxon::Formatted broken = taxon::format_rules("group g : rank ==\n", "broken.tx");
  CHECK_FALSE(broken.ok);
  CHECK(broken.text.empty());
  REQUIRE_FALSE(broken.findings.empty());
  CHECK(broken.findings[0].code == "T0102");
  CHECK(broken.findings[0].file == "broken.tx");

  CHECK_FALSE(taxon::check_tx_path("rules.tx"));
  CHECK_FALSE(taxon::check_tx_path("-"));
  std::optional<taxon::Finding> yaml = taxon::check_tx_path("config.yaml");
  REQUIRE(yaml);
  CHECK(yaml->code == "T0603");
  CHECK(yaml->rendered ==
        "error[T0603]: config.yaml: fmt formats taxon language files (.tx)\n = hint: `taxon convert config.yaml` turns linnaeus YAML into .tx\n");
}

TEST_CASE("front door: convert_to_tx gives rules that evaluate as the YAML does") {
  const std::string yaml = TAXON_SOURCE_DIR "/tests/data/rules/linnaeus/name_contains.yaml";
  taxon::Formatted converted = taxon::convert_to_tx(yaml);
  REQUIRE(converted.ok);
  taxon::Rules as_tx = taxon::Rules::parse(converted.text, "converted.tx");
  REQUIRE(as_tx.ok());
  CHECK(taxon::format_rules(converted.text, "converted.tx").text == converted.text);  // already canonical

  taxon::Model llama = taxon::Model::from_dump(TAXON_SOURCE_DIR "/tests/data/dumps/llama_tiny.json");
  taxon::Report from_yaml = taxon::evaluate(taxon::Rules::load(yaml), llama);
  taxon::Report from_tx = taxon::evaluate(as_tx, llama);
  REQUIRE(from_tx.selections.size() == from_yaml.selections.size());
  for (std::size_t s = 0; s < from_yaml.selections.size(); ++s)
    CHECK(from_tx.selections[s].tensors == from_yaml.selections[s].tensors);
  REQUIRE(from_tx.groups.size() == from_yaml.groups.size());
  for (std::size_t g = 0; g < from_yaml.groups.size(); ++g) CHECK(from_tx.groups[g].tensors == from_yaml.groups[g].tensors);

  try {
    taxon::convert_to_tx(TAXON_SOURCE_DIR "/tests/data/rules/tx/messy.tx");
    FAIL("no error");
  } catch (const taxon::Error& error) {
    CHECK(error.code() == "T0603");
  }
}

TEST_CASE("front door: write_text_file replaces a file whole - and keeps one it may not overwrite") {
  auto path = std::filesystem::temp_directory_path() / "taxon_front_door_write.tx";
  std::filesystem::remove(path);
  auto read = [&] {
    std::ifstream file(path);
    return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  };
  taxon::write_text_file(path.string(), "first\n", false);
  CHECK(read() == "first\n");
  try {
    taxon::write_text_file(path.string(), "second\n", false);
    FAIL("no error");
  } catch (const taxon::Error& error) {
    CHECK(error.code() == "T0604");
    CHECK(std::string(error.what()) == path.string() + " exists; pass --force to overwrite it");
  }
  // The output is checked before the YAML is read: refused, even though the YAML is fine.
  taxon::ConvertOptions options{.output = path.string()};
  CHECK_THROWS_AS(taxon::convert_to_tx(TAXON_SOURCE_DIR "/tests/data/rules/linnaeus/name_contains.yaml", options), taxon::Error);
  CHECK(read() == "first\n");
  taxon::write_text_file(path.string(), "second\n");
  CHECK(read() == "second\n");
  std::filesystem::remove(path);
}

TEST_CASE("front door: a folded group's text ends with its computed values over the whole group") {
  std::vector<taxon::ModelTensor> tensors;
  for (int block = 0; block < 3; ++block)
    for (int k = 0; k < 8; ++k) tensors.push_back({.name = fmt::format("blocks.{}.w{}", block, k), .shape = {4, 4}});
  taxon::Rules rules = taxon::Rules::parse(R"(group blocks : name ~ /^blocks\.(?P<i>\d+)\./ { lr_mult = 0.5 ** (2 - i) })");
  REQUIRE(rules.ok());
  std::string text = taxon::evaluate(rules, taxon::Model(tensors)).text(false);
  // 0.5 ** 2, 0.5 ** 1, 0.5 ** 0, eight tensors each; only the first ten names are listed.
  CHECK(text.find("      lr_mult over its 24 tensors: 3 values, 0.25 to 1: 0.25 (8), 0.5 (8), 1 (8)\n") != std::string::npos);
  CHECK(taxon::evaluate(rules, taxon::Model(tensors)).text(true).find("over its") == std::string::npos);  // --all lists them all
}

TEST_CASE("front door: a report without tensor lists prints as the full one does") {
  std::vector<taxon::ModelTensor> tensors;
  for (int block = 0; block < 3; ++block)
    for (int k = 0; k < 4; ++k) tensors.push_back({.name = fmt::format("blocks.{}.w{}", block, k), .shape = {4, 4}});
  tensors[0].requires_grad = false;
  taxon::Rules rules = taxon::Rules::parse("select first : name starts \"blocks.0.\"\n"
                                           "group blocks : name ~ /^blocks\\.(?P<i>\\d+)\\./ { lr_mult = 0.5 ** (2 - i) }\n");
  REQUIRE(rules.ok());
  taxon::Model model(tensors);
  taxon::Report full = taxon::evaluate(rules, model);
  taxon::EvaluateOptions options;
  options.tensor_lists = false;
  taxon::Report bare = taxon::evaluate(rules, model, options);
  CHECK(bare.text(false) == full.text(false));
  CHECK(bare.text(true) == full.text(true));
  CHECK(bare.json() == full.json());
  REQUIRE(full.groups.size() == bare.groups.size());
  CHECK(full.selections[0].tensors.size() == 4);
  CHECK(bare.selections[0].tensors.empty());
  CHECK(bare.selections[0].name == "first");
  CHECK(full.groups[0].per_tensor.size() == 11);
  CHECK(full.groups[0].frozen.size() == 1);
  CHECK((bare.groups[0].tensors.empty() && bare.groups[0].rows.empty() && bare.groups[0].per_tensor.empty() && bare.groups[0].frozen.empty()));
  CHECK(bare.groups[0].name == full.groups[0].name);
}

TEST_CASE("front door: write_json streams the report json() gives - in pieces - byte for byte") {
  std::vector<taxon::ModelTensor> tensors;
  for (int block = 0; block < 400; ++block)
    for (int k = 0; k < 8; ++k) tensors.push_back({.name = fmt::format("model.blocks.{}.mlp.w{}", block, k), .shape = {4, 4}});
  taxon::Rules rules = taxon::Rules::parse("group blocks : name ~ /^model\\.blocks\\.(?P<i>\\d+)\\./ { lr_mult = 0.9 ** (399 - i) }\n");
  REQUIRE(rules.ok());
  taxon::Report report = taxon::evaluate(rules, taxon::Model(tensors));
  std::string whole = report.json();
  REQUIRE(whole.size() > 3 * (64 << 10));  // several pieces of the stream
  struct Pieces : std::stringbuf {
    int writes = 0;
    std::streamsize xsputn(const char* text, std::streamsize count) override {
      ++writes;
      return std::stringbuf::xsputn(text, count);
    }
  } pieces;
  std::ostream out(&pieces);
  report.write_json(out);
  CHECK(pieces.str() == whole);
  CHECK(pieces.writes > 3);
  CHECK(nlohmann::json::parse(whole)["groups"]["blocks"]["tensors"].size() == 3200);
}

TEST_CASE("front door: the report is the same on one thread as on the default two - and on three") {
  // Past 16,384 tensors an aggregate's captures are read on several threads.
  std::vector<taxon::ModelTensor> tensors;
  for (int block = 0; block < 2100; ++block)
    for (int k = 0; k < 9; ++k) tensors.push_back({.name = fmt::format("model.blocks.{}.mlp.w{}", block, k), .shape = {4, 4}});
  taxon::Rules rules = taxon::Rules::parse(
      "let block = name ~ /^model\\.blocks\\.(?P<i>\\d+)\\.mlp\\.w(?P<k>\\d)/\n"
      "let depth = max(i where block) + 1\n"
      "set decay : block { lr_mult = 0.9 ** (depth - i), weight_decay = 0.0001 * count(i where block) }\n"
      "group rest { }\n");
  REQUIRE(rules.ok());
  taxon::Model model(tensors);
  taxon::EvaluateOptions one;
  one.threads = 1;
  std::string on_one = taxon::evaluate(rules, model, one).json();
  CHECK(taxon::evaluate(rules, model).json() == on_one);
  taxon::EvaluateOptions three;
  three.threads = 3;
  CHECK(taxon::evaluate(rules, model, three).json() == on_one);
  // What the aggregates computed: depth 2100 (0.9 ** 1 for the last block), 2100 distinct i.
  auto groups = nlohmann::json::parse(on_one)["groups"];
  CHECK(groups.size() == 2100);
  CHECK(groups["rest/decay_2099"]["options"]["lr_mult"].get<double>() == doctest::Approx(0.9));
  CHECK(groups["rest/decay_0"]["options"]["weight_decay"].get<double>() == doctest::Approx(0.21));
  CHECK(groups["rest/decay_0"]["tensors"].size() == 9);
}
