#include <doctest/doctest.h>

#include "runtime/input_error.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

namespace {
const std::string kData = std::string(TAXON_SOURCE_DIR) + "/tests/data/dumps/";

std::string error_of(const std::string& text) {
  try {
    parse_model_dump(text, "d.json");
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}
}  // namespace

TEST_CASE("every shared dump reads - with modules - kinds and ties") {
  for (const char* name : {"bert_base", "llama2_7b", "llama_tiny", "llama_tiny_target", "mformer_tiny", "mixtral_8x7b",
                           "swin_t", "swin_tiny", "swin_tiny_target", "vit_b16", "vit_tiny", "vit_tiny_target"}) {
    CAPTURE(name);
    TensorTable table = read_model_dump(kData + name + ".json");
    CHECK(!table.tensors.empty());
    CHECK(table.has_module_types);
    CHECK(!table.modules.empty());
  }
  TensorTable mformer = read_model_dump(kData + "mformer_tiny.json");
  CHECK(mformer.tensors.size() == 236);
  std::size_t tied = 0, buffers = 0;
  for (const auto& tensor : mformer.tensors) {
    tied += tensor.tied_to.has_value();
    buffers += tensor.kind == TensorKind::buffer;
  }
  CHECK(tied == 24);
  CHECK(buffers == 12);
  const TensorRecord& alias = mformer.tensors[mformer.tensors.size() - 13];
  CHECK(alias.name == "head.taxa_L40.level_classifiers.taxa_L40.bias");
  CHECK(mformer.tensors[*alias.tied_to].name == "head.taxa_L10.level_classifiers.taxa_L40.bias");

  TensorTable swin = read_model_dump(kData + "swin_tiny.json");
  const TensorRecord& index = swin.tensors.back();
  CHECK(index.kind == TensorKind::buffer);
  CHECK_FALSE(index.persistent);
  CHECK(index.dtype == "int64");
  CHECK(index.module_type == "SwinRelativePositionBias");
}

TEST_CASE("a checkpoint's dump has no module types - a dump may carry a stage map") {
  TensorTable checkpoint = read_model_dump(kData + "derived/vit_tiny_checkpoint.json");
  CHECK_FALSE(checkpoint.has_module_types);
  TensorTable staged = read_model_dump(kData + "derived/vit_tiny_stages.json");
  REQUIRE(staged.stage_map);
  CHECK(staged.stage_map->stage_of("vit.layers.1.mlp.fc1.weight") == "2");
  CHECK(staged.stage_map->stage_of("vit.layers.0.mlp.fc1.weight") == "1");
  CHECK_FALSE(staged.stage_map->stage_of("nowhere").has_value());
}

TEST_CASE("bad dumps fail with the file - the place and the problem") {
  CHECK(error_of("{\"format\": \"model-dump/1\",\n \"tensors\": [}") ==
        "d.json:2:14: not valid JSON (The JSON document has an improper structure: missing or superfluous commas, braces, "
        "missing keys, etc.); a model dump is one JSON object (docs/model-dump.md)");
  CHECK(error_of("[]") == "d.json: the top level must be a JSON object");
  CHECK(error_of("{\"tensors\": []}") ==
        "d.json: \"format\" is missing or not a string; a model dump says \"format\": \"model-dump/1\"");
  CHECK(error_of("{\"format\": \"model-dump/2\", \"tensors\": []}") ==
        "d.json: unsupported format \"model-dump/2\"; this taxon reads \"model-dump/1\"");
  CHECK(error_of("{\"format\": \"model-dump/1\"}") == "d.json: \"tensors\" is missing or not a list");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [2, -1], "dtype": "float32"}]})") ==
        "d.json: tensors[0] (\"a\"): \"shape\" must list sizes >= 0");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"shape": [], "dtype": "float32"}]})") ==
        "d.json: tensors[0]: \"name\" is missing or not a string");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [], "dtype": "f", "kind": "state"}]})") ==
        "d.json: tensors[0] (\"a\"): \"kind\" must be \"parameter\", \"buffer\" or \"unknown\"");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [], "dtype": "f", "tied_to": "b"}]})") ==
        "d.json: tensors[0] (\"a\"): \"tied_to\" names \"b\", which is not an earlier tensor");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [], "dtype": "f", "requires_grad": 1}]})") ==
        "d.json: tensors[0] (\"a\"): \"requires_grad\" must be true or false");
}

TEST_CASE("a missing file names the file and the reason") {
  try {
    read_model_dump("/nonexistent/dump.json");
    FAIL("no error");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()) == "cannot read /nonexistent/dump.json: No such file or directory");
    CHECK(error.code() == code::unreadable_file);
  }
}
