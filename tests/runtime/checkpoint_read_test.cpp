// Readers against the fixtures' ground truth: tests/data/ckpt/extra/expected.json
// says, for every file, each tensor's name, shape, dtype, the sha256 of its
// elements in row-major order, and for .pt files the storage record, offset
// and strides it views. And every on-disk form of the same model reads to
// identical tensors.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <filesystem>

#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"

using namespace taxon;
using json = nlohmann::json;

namespace {

const std::string kData = std::string(TAXON_SOURCE_DIR) + "/tests/data/ckpt/";

std::string sha256(const std::vector<uint8_t>& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

json expected() {
  std::ifstream in(kData + "extra/expected.json");
  return json::parse(in);
}

void check_tensor(const json& want, const TensorData& got) {
  CHECK(got.shape == want["shape"].get<std::vector<int64_t>>());
  CHECK(dtype_name(got.dtype) == want["dtype"].get<std::string>());
  CHECK(sha256(got.contiguous_bytes()) == want["sha256"].get<std::string>());
  if (want.contains("storage")) {
    CHECK(got.storage->key == want["storage"].get<std::string>());
    CHECK(got.storage_offset == want["storage_offset"].get<int64_t>());
    CHECK(got.stride == want["stride"].get<std::vector<int64_t>>());
  }
  if (want.contains("requires_grad")) CHECK(got.requires_grad == want["requires_grad"].get<bool>());
}

std::map<std::string, const TensorData*> by_name(const Checkpoint& checkpoint) {
  std::map<std::string, const TensorData*> out;
  for (const auto& tensor : checkpoint.tensors) out[tensor.name] = &tensor.data;
  return out;
}

}  // namespace

TEST_CASE("every extra fixture reads as expected.json says - or is refused by name") {
  json files = expected()["files"];
  REQUIRE(files.size() == 20);
  for (const auto& [file, want] : files.items()) {
    CAPTURE(file);
    std::string path = kData + "extra/" + file;
    std::string behaviour = want.value("expected_reader_behaviour", "");
    if (want["container"] == "torchscript-zip") {
      CHECK_THROWS_WITH_AS(read_checkpoint(path), doctest::Contains("TorchScript archive"), InputError);
      continue;
    }
    if (behaviour.starts_with("refuse")) {
      std::string name = file.find("quantized") != std::string::npos ? "_rebuild_qtensor" : "_rebuild_sparse_tensor";
      CHECK_THROWS_WITH_AS(read_checkpoint(path), doctest::Contains(name.c_str()), InputError);
      continue;
    }
    Checkpoint checkpoint = read_checkpoint(path);
    if (want.contains("state_dict_path") && want["state_dict_path"].is_array()) {
      std::vector<std::string> expected_path;
      for (const auto& key : want["state_dict_path"]) expected_path.push_back(key.get<std::string>());
      CHECK(checkpoint.state_dict_path == expected_path);
    }
    auto tensors = by_name(checkpoint);
    CHECK(tensors.size() == want["tensors"].size());
    for (const auto& tensor : want["tensors"]) {
      std::string name = tensor["name"];
      CAPTURE(name);
      REQUIRE(tensors.contains(name));
      check_tensor(tensor, *tensors[name]);
    }
    // Tensors outside the state dict, in a dict of tensors one level down (the EMA copy).
    std::map<std::string, Checkpoint> by_source;
    for (const auto& other : want.value("other_tensors", json::array())) {
      const json& path_keys = other["path"];
      if (path_keys.size() != 2 || !path_keys[0].is_string()) continue;
      std::string source = path_keys[0];
      if (!by_source.contains(source)) by_source.emplace(source, read_checkpoint(path, ReadOptions{{}, source}));
      auto others = by_name(by_source.at(source));
      std::string name = path_keys[1];
      CAPTURE(name);
      REQUIRE(others.contains(name));
      check_tensor(other, *others[name]);
    }
  }
}

TEST_CASE("ties: one storage under two keys reads as one view") {
  for (const char* file : {"extra/llama_tied.pt", "extra/llama_tied_sd.pt"}) {
    CAPTURE(file);
    TensorTable table = checkpoint_table(read_checkpoint(kData + file));
    REQUIRE(table.tensors.back().name == "lm_head.weight");
    REQUIRE(table.tensors.back().tied_to.has_value());
    CHECK(table.tensors[*table.tensors.back().tied_to].name == "model.embed_tokens.weight");
  }
}

namespace {

std::string without(const std::string& name, std::string_view prefix) {
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

// float32 -> bfloat16, round to nearest even (how the bf16 fixtures were cast).
std::vector<uint8_t> to_bfloat16(const std::vector<uint8_t>& f32) {
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 4 <= f32.size(); i += 4) {
    uint32_t bits;
    std::memcpy(&bits, f32.data() + i, 4);
    uint32_t rounded = bits + 0x7FFF + ((bits >> 16) & 1);
    uint16_t half = static_cast<uint16_t>(rounded >> 16);
    out.push_back(static_cast<uint8_t>(half & 0xFF));
    out.push_back(static_cast<uint8_t>(half >> 8));
  }
  return out;
}

}  // namespace

TEST_CASE("every on-disk form of a model reads to identical tensors") {
  for (const char* model : {"vit_tiny", "swin_tiny", "llama_tiny"}) {
    CAPTURE(model);
    std::string dir = kData + model + "/";
    Checkpoint reference = read_checkpoint(dir + "model.safetensors");
    std::map<std::string, std::vector<uint8_t>> bytes;
    for (const auto& tensor : reference.tensors) bytes[tensor.name] = tensor.data.contiguous_bytes();
    struct Form {
      std::string file, prefix;
    };
    std::vector<Form> forms{{"state_dict.pt", ""}, {"wrapped.pt", ""}, {"ddp.pt", "module."}, {"legacy.pt", ""}};
    if (std::string(model) == "vit_tiny") {
      forms.push_back({"../extra/vit_compiled.pt", "_orig_mod."});
      forms.push_back({"../extra/vit_lightning.ckpt", "model."});
      forms.push_back({"../extra/vit_sharded", ""});
    }
    for (const auto& form : forms) {
      CAPTURE(form.file);
      Checkpoint other = read_checkpoint(dir + form.file);
      REQUIRE(other.tensors.size() == reference.tensors.size());
      for (const auto& tensor : other.tensors) {
        std::string name = without(tensor.name, form.prefix);
        CAPTURE(name);
        REQUIRE(bytes.contains(name));
        CHECK(tensor.data.dtype == DType::float32);
        CHECK(tensor.data.contiguous_bytes() == bytes[name]);
      }
    }
    Checkpoint bf16 = read_checkpoint(dir + "model_bf16.safetensors");
    for (const auto& tensor : bf16.tensors) {
      CAPTURE(tensor.name);
      CHECK(tensor.data.dtype == DType::bfloat16);
      CHECK(tensor.data.contiguous_bytes() == to_bfloat16(bytes[tensor.name]));
    }
  }
}

TEST_CASE("written safetensors read back to the same tensors - strided views come out row-major") {
  for (const char* file : {"extra/views.pt", "llama_tiny/legacy.pt", "extra/dtypes.safetensors"}) {
    CAPTURE(file);
    Checkpoint in = read_checkpoint(kData + file);
    std::vector<OutputTensor> out;
    for (const auto& tensor : in.tensors) out.push_back({tensor.name, &tensor.data});
    std::string path = (std::filesystem::temp_directory_path() / "taxon-roundtrip.safetensors").string();
    write_safetensors(path, out, {{"format", "pt"}});
    Checkpoint back = read_checkpoint(path);
    REQUIRE(back.tensors.size() == in.tensors.size());
    for (std::size_t i = 0; i < in.tensors.size(); ++i) {
      CHECK(back.tensors[i].name == in.tensors[i].name);
      CHECK(back.tensors[i].data.shape == in.tensors[i].data.shape);
      CHECK(back.tensors[i].data.contiguous_bytes() == in.tensors[i].data.contiguous_bytes());
    }
    CHECK(back.metadata == std::vector<std::pair<std::string, std::string>>{{"format", "pt"}});
    std::filesystem::remove(path);
  }
}

TEST_CASE("a dtype safetensors cannot hold fails before anything is written") {
  Checkpoint in = read_checkpoint(kData + "extra/dtypes.pt");
  std::vector<OutputTensor> out;
  for (const auto& tensor : in.tensors) out.push_back({tensor.name, &tensor.data});
  std::string path = (std::filesystem::temp_directory_path() / "taxon-complex128.safetensors").string();
  std::filesystem::remove(path);
  CHECK_THROWS_WITH_AS(write_safetensors(path, out, {}), doctest::Contains("complex128"), InputError);
  CHECK_FALSE(std::filesystem::exists(path));
}
