// The public API (include/taxon/taxon.hpp) on its own: nothing but that header is included, so a
// program that embeds taxon can do everything shown here. Expected values are worked out by hand
// from the rules and the tensors below.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "taxon/taxon.hpp"

namespace {

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

TEST_CASE("front door: a plan applied to a DDP checkpoint - judged - then written") {
  taxon::Rules rules = taxon::Rules::parse("plan unwrap {\n  strip \"module.\"\n  load strict = true\n}\n");
  REQUIRE(rules.ok());
  taxon::ApplyOptions options;
  options.checkpoints = {TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt"};
  options.target = taxon::Model::from_checkpoint(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/model.safetensors");
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
  taxon::ApplyOptions options;
  options.checkpoints = {TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt"};
  options.target = taxon::Model::from_checkpoint(TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/model.safetensors");
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
