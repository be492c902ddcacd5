// Issue 15's write side and sharded reading: the streamed safetensors header (byte for byte what
// nlohmann::ordered_json wrote), Hugging Face's shard sizes and splits (against
// tests/data/sharding/expected.json, made by huggingface_hub's own code), sharded outputs
// (safetensors and .bin) that read back, all-or-nothing sets of files (AtomicFileSet), and
// sharded .bin inputs (tests/data/sharding/bin_shards, made by torch.save).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <filesystem>

#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/input_error.hpp"

using namespace taxon;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kSharding = std::string(TAXON_SOURCE_DIR) + "/tests/data/sharding/";

std::string digest(const std::vector<uint8_t>& bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void spit(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh directory, removed with everything in it at the end of the test.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "taxon-sharded-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path, ignored);
  }
  // Every entry (hidden ones too) with its contents: what "the directory exactly as it was" compares.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& entry : fs::directory_iterator(path))
      out[entry.path().filename().string()] = entry.is_directory() ? "<dir>" : slurp(entry.path());
    return out;
  }
};

// Tensors that own their bytes (each its own storage, unless `tie_to` names an earlier one).
struct Tensors {
  std::vector<std::string> names;
  std::vector<std::unique_ptr<TensorData>> data;

  TensorData& add(std::string name, DType dtype, std::vector<int64_t> shape, uint8_t seed = 1) {
    auto tensor = std::make_unique<TensorData>();
    tensor->dtype = dtype;
    tensor->shape = std::move(shape);
    tensor->stride = contiguous_strides(tensor->shape);
    auto bytes = std::make_shared<std::vector<uint8_t>>(tensor->nbytes());
    for (std::size_t i = 0; i < bytes->size(); ++i) (*bytes)[i] = static_cast<uint8_t>(seed + i * 7);
    auto storage = std::make_shared<StorageBlock>();
    storage->key = std::to_string(data.size());
    storage->dtype = dtype;
    storage->data = bytes->data();
    storage->nbytes = bytes->size();
    storage->owner = bytes;
    tensor->storage = storage;
    names.push_back(std::move(name));
    data.push_back(std::move(tensor));
    return *data.back();
  }
  void tie(std::string name, std::size_t to) {
    names.push_back(std::move(name));
    data.push_back(std::make_unique<TensorData>(*data[to]));
  }
  // Only sizes matter to the planner: a storage of `storage_bytes`, no bytes behind it.
  void add_sized(std::string name, uint64_t tensor_bytes, std::shared_ptr<StorageBlock> storage) {
    auto tensor = std::make_unique<TensorData>();
    tensor->dtype = DType::uint8;
    tensor->shape = {static_cast<int64_t>(tensor_bytes)};
    tensor->stride = {1};
    tensor->storage = std::move(storage);
    names.push_back(std::move(name));
    data.push_back(std::move(tensor));
  }
  std::vector<OutputTensor> outputs() const {
    std::vector<OutputTensor> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], data[i].get()});
    return out;
  }
};

// The header as write_safetensors built it before issue 15, with nlohmann::ordered_json.
std::string reference_header(const std::vector<OutputTensor>& tensors,
                             const std::vector<std::pair<std::string, std::string>>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    uint64_t size = tensor.data->nbytes();
    header[tensor.name] = {{"dtype", std::string(*safetensors_code(tensor.data->dtype))},
                           {"shape", tensor.data->shape},
                           {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t length = text.size();
  return std::string(reinterpret_cast<const char*>(&length), 8) + text;
}

std::vector<std::string> names_of(const Checkpoint& checkpoint) {
  std::vector<std::string> out;
  for (const auto& tensor : checkpoint.tensors) out.push_back(tensor.name);
  return out;
}

json expected_sharding() {
  std::ifstream in(kSharding + "expected.json");
  return json::parse(in);
}

}  // namespace

TEST_CASE("the streamed safetensors header is byte for byte what nlohmann::ordered_json wrote") {
  Tensors t;
  t.add("model.embed_tokens.weight", DType::float32, {3, 4});
  t.add("quote\"back\\slash/solidus", DType::bfloat16, {2});
  t.add("control\b\f\n\r\t\x01\x1f\x7f", DType::int64, {});
  t.add("unicode: é ß 漢字 🙂", DType::float16, {0, 5});
  t.add("scalar", DType::bool_, {});
  t.add("fp8", DType::float8_e4m3fn, {1, 1, 2});
  std::vector<std::pair<std::string, std::string>> metadata{
      {"format", "pt"}, {"taxon.plan", "strip \"module.\"\n"}, {"ünïcode", "✓"}, {"format", "pt2"}};
  ScratchDir dir;
  for (bool with_metadata : {true, false}) {
    CAPTURE(with_metadata);
    auto meta = with_metadata ? metadata : std::vector<std::pair<std::string, std::string>>{};
    std::string path = (dir.path / "header.safetensors").string();
    write_safetensors(path, t.outputs(), meta);
    std::string file = slurp(path);
    std::string want = reference_header(t.outputs(), meta);
    REQUIRE(file.size() >= want.size());
    CHECK(file.substr(0, want.size()) == want);
    Checkpoint back = read_checkpoint(path);
    CHECK(names_of(back) == t.names);
    for (std::size_t i = 0; i < t.names.size(); ++i) CHECK(back.tensors[i].data.contiguous_bytes() == t.data[i]->contiguous_bytes());
  }
  // No tensors, no metadata: "{}" and six spaces.
  std::string empty = (dir.path / "empty.safetensors").string();
  write_safetensors(empty, {}, {});
  CHECK(slurp(empty) == reference_header({}, {}));
}

TEST_CASE("safetensors names that cannot go in a header fail before anything is written") {
  ScratchDir dir;
  std::string path = (dir.path / "bad.safetensors").string();
  for (const char* name : {"\xff", "over\xc0\xafong", "surrogate\xed\xa0\x80", "cut\xe6\xbc"}) {
    Tensors t;
    t.add("fine", DType::float32, {1});
    t.add(name, DType::float32, {1});
    CHECK_THROWS_WITH_AS(write_safetensors(path, t.outputs(), {}), doctest::Contains("tensor #2's name is not valid UTF-8"),
                         InputError);
  }
  Tensors twice;
  twice.add("a", DType::float32, {1});
  twice.add("b", DType::float32, {1});
  twice.add("a", DType::float32, {2});
  CHECK_THROWS_WITH_AS(write_safetensors(path, twice.outputs(), {}), doctest::Contains("tensor \"a\" appears twice"), InputError);
  Tensors reserved;
  reserved.add("__metadata__", DType::float32, {1});
  CHECK_THROWS_WITH_AS(write_safetensors(path, reserved.outputs(), {}), doctest::Contains("__metadata__"), InputError);
  Tensors fine;
  fine.add("x", DType::float32, {1});
  CHECK_THROWS_WITH_AS(write_safetensors(path, fine.outputs(), {{"key", "\xfe"}}), doctest::Contains("the metadata is not valid UTF-8"),
                       InputError);
  CHECK(dir.snapshot().empty());
}

TEST_CASE("maximum shard sizes parse as huggingface_hub parses them - and GiB MiB KiB TiB as transformers does") {
  json expected = expected_sharding();
  for (const auto& size : expected["sizes"]) {
    CAPTURE(size["text"].get<std::string>());
    CHECK(parse_shard_size(size["text"].get<std::string>()) == size["bytes"].get<uint64_t>());
  }
  CHECK(parse_shard_size("2GiB") == (uint64_t{2} << 30));
  CHECK(parse_shard_size("500MiB") == uint64_t{500} << 20);
  CHECK(parse_shard_size("10kib") == 10240);
  CHECK(parse_shard_size("1TiB") == uint64_t{1} << 40);
  CHECK(parse_shard_size("1.5GiB") == (uint64_t{3} << 29));
  CHECK(parse_shard_size("1234") == 1234);
  CHECK(parse_shard_size("1234B") == 1234);
  CHECK(parse_shard_size(" 77 b ") == 77);
  for (const char* bad : {"", "   ", "GB", "5XB", "5 G", "-5GB", "+5GB", "1e3GB", "1_000MB", "0GB", "0", "0.0001KB", "5.5",
                          "1..2GB", "1.2.3MB", "inf GB", "99999999999999999999", "99999999TB", "5 GB extra"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_shard_size(bad), InputError);
  }
  try {
    parse_shard_size("5XB");
    FAIL("no error");
  } catch (const InputError& error) {
    CHECK(error.code() == "T0001");
    CHECK(std::string(error.what()).find("maximum shard size \"5XB\": \"XB\" is not a unit") != std::string::npos);
    CHECK(std::string(error.what()).find("e.g. 5GB") != std::string::npos);
  }
}

TEST_CASE("shards split as huggingface_hub's split_state_dict_into_shards_factory splits them") {
  json expected = expected_sharding();
  REQUIRE(expected["huggingface_hub"]["commit"].get<std::string>().size() == 40);
  REQUIRE(expected["cases"].size() >= 10);
  for (const auto& c : expected["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    Tensors t;
    std::map<std::string, std::shared_ptr<StorageBlock>> storages;
    for (const auto& tensor : c["tensors"]) {
      uint64_t size = tensor["size"].get<uint64_t>();
      std::shared_ptr<StorageBlock> storage;
      if (tensor["storage"].is_string()) {  // a tie: one storage, each tensor a view of one byte of it
        auto& shared = storages[tensor["storage"].get<std::string>()];
        if (!shared) {
          shared = std::make_shared<StorageBlock>();
          shared->nbytes = size;
        }
        t.add_sized(tensor["name"].get<std::string>(), 1, shared);
        continue;
      }
      storage = std::make_shared<StorageBlock>();
      storage->nbytes = size;
      t.add_sized(tensor["name"].get<std::string>(), size, storage);
    }
    uint64_t max = c["max_shard_bytes"].get<uint64_t>();
    if (c["max_shard_size"].is_string()) CHECK(parse_shard_size(c["max_shard_size"].get<std::string>()) == max);
    ShardPlan plan = plan_shards(c["file_name"].get<std::string>(), max, t.outputs());
    CHECK(plan.total_size == c["total_size"].get<uint64_t>());
    CHECK(plan.sharded() == c["is_sharded"].get<bool>());
    REQUIRE(plan.files.size() == c["files"].size());
    for (std::size_t s = 0; s < plan.files.size(); ++s) {
      CHECK(plan.files[s] == c["files"][s][0].get<std::string>());
      std::vector<std::string> got;
      for (std::size_t i : plan.tensors[s]) got.push_back(t.names[i]);
      CHECK(got == c["files"][s][1].get<std::vector<std::string>>());
    }
  }
}

TEST_CASE("shard file names put -NNNNN-of-NNNNN before the extension") {
  CHECK(shard_file_name("model.safetensors", 3, 12) == "model-00003-of-00012.safetensors");
  CHECK(shard_file_name("pytorch_model.bin", 1, 2) == "pytorch_model-00001-of-00002.bin");
  CHECK(shard_file_name("model.fp16.safetensors", 1, 2) == "model.fp16-00001-of-00002.safetensors");
  CHECK(shard_file_name("weights.pt", 100000, 100000) == "weights-100000-of-100000.pt");
  CHECK(shard_file_name("noext", 1, 2) == "noext-00001-of-00002");
}

TEST_CASE("a sharded safetensors output reads back whole - with the index transformers writes") {
  Tensors t;
  for (int layer = 0; layer < 3; ++layer)
    for (const char* p : {"q_proj", "k_proj", "up_proj"})
      t.add(fmt::format("model.layers.{}.{}.weight", layer, p), DType::float32, {8, 8}, static_cast<uint8_t>(layer * 3 + 1));
  t.add("lm_head.weight", DType::bfloat16, {16, 8});
  t.add("naïve \"name\"", DType::int8, {3});
  ScratchDir dir;
  std::string path = (dir.path / "model.safetensors").string();
  std::vector<std::pair<std::string, std::string>> metadata{{"format", "pt"}, {"taxon.plan", "p"}};
  std::vector<uint64_t> progress;
  auto written = write_sharded(path, 700, t.outputs(), metadata, [&](uint64_t done, uint64_t) { progress.push_back(done); });
  ShardPlan plan = plan_shards("model.safetensors", 700, t.outputs());
  REQUIRE(plan.files.size() == 5);  // two 256-byte tensors a shard; the 3-byte one joins the last
  std::vector<std::string> want_files;
  for (const auto& file : plan.files) want_files.push_back((dir.path / file).string());
  want_files.push_back(path + ".index.json");
  CHECK(written == want_files);
  CHECK(dir.snapshot().size() == 6);  // nothing else: no temporaries, no plain model.safetensors
  CHECK_FALSE(fs::exists(path));
  REQUIRE(!progress.empty());
  CHECK(progress.back() == plan.total_size);
  CHECK(std::is_sorted(progress.begin(), progress.end()));

  // The index: what transformers' json.dumps(index, indent=2, sort_keys=True) + "\n" gives.
  json index;
  index["metadata"]["total_size"] = plan.total_size;
  for (std::size_t s = 0; s < plan.files.size(); ++s)
    for (std::size_t i : plan.tensors[s]) index["weight_map"][t.names[i]] = plan.files[s];
  CHECK(slurp(path + ".index.json") == index.dump(2, ' ', true) + "\n");

  for (const std::string& source : {path + ".index.json", dir.path.string()}) {
    CAPTURE(source);
    Checkpoint back = read_checkpoint(source);
    CHECK(back.format == "safetensors (sharded)");
    CHECK(back.metadata == metadata);  // every shard carries it
    std::map<std::string, std::vector<uint8_t>> bytes;
    for (const auto& tensor : back.tensors) bytes[tensor.name] = tensor.data.contiguous_bytes();
    REQUIRE(bytes.size() == t.names.size());
    for (std::size_t i = 0; i < t.names.size(); ++i) CHECK(bytes[t.names[i]] == t.data[i]->contiguous_bytes());
  }
  for (std::size_t s = 0; s < plan.files.size(); ++s) {  // each shard holds its tensors in the plan's order
    std::vector<std::string> want;
    for (std::size_t i : plan.tensors[s]) want.push_back(t.names[i]);
    CHECK(names_of(read_checkpoint(want_files[s])) == want);
  }
}

TEST_CASE("when everything fits in one shard the output is the plain file - and no index") {
  Tensors t;
  t.add("a", DType::float32, {4});
  t.add("b", DType::float32, {4});
  ScratchDir dir;
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    CAPTURE(name);
    std::string path = (dir.path / name).string();
    CHECK(write_sharded(path, parse_shard_size("5GB"), t.outputs(), {}) == std::vector<std::string>{path});
    CHECK(names_of(read_checkpoint(path)) == t.names);
    CHECK_FALSE(fs::exists(path + ".index.json"));
  }
  CHECK(dir.snapshot().size() == 2);
}

TEST_CASE("a sharded .bin output is torch.save shards of state dicts - ties stay in one shard") {
  Tensors t;
  t.add("model.embed_tokens.weight", DType::float32, {8, 4});
  t.add("model.layers.0.weight", DType::float16, {8, 4}, 9);
  t.add("model.layers.1.weight", DType::float16, {8, 4}, 17);
  t.tie("lm_head.weight", 0);
  t.add("model.norm.weight", DType::float32, {4}, 33);
  ScratchDir dir;
  std::string path = (dir.path / "pytorch_model.bin").string();
  auto written = write_sharded(path, 130, t.outputs(), {});
  ShardPlan plan = plan_shards("pytorch_model.bin", 130, t.outputs());
  REQUIRE(plan.files == std::vector<std::string>{"pytorch_model-00001-of-00003.bin", "pytorch_model-00002-of-00003.bin",
                                                 "pytorch_model-00003-of-00003.bin"});
  CHECK(plan.total_size == 128 + 64 + 64 + 16);  // the tie counted once
  CHECK(written.size() == 4);
  CHECK(dir.snapshot().size() == 4);  // the staging directory is gone
  Checkpoint back = read_checkpoint(dir.path.string() + "/pytorch_model.bin.index.json");
  CHECK(back.format == "torch (sharded)");
  std::map<std::string, const TensorData*> by_name;
  for (const auto& tensor : back.tensors) by_name[tensor.name] = &tensor.data;
  REQUIRE(by_name.size() == 5);
  for (std::size_t i = 0; i < t.names.size(); ++i) CHECK(by_name[t.names[i]]->contiguous_bytes() == t.data[i]->contiguous_bytes());
  CHECK(by_name["lm_head.weight"]->same_view(*by_name["model.embed_tokens.weight"]));  // one storage, as written
  CHECK(names_of(read_checkpoint(written[0])) == std::vector<std::string>{"model.embed_tokens.weight", "lm_head.weight"});
}

TEST_CASE("a dtype that cannot be written in the second shard leaves the directory exactly as it was") {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    CAPTURE(name);
    bool safetensors = std::string(name).ends_with(".safetensors");
    Tensors t;
    t.add("a", DType::float32, {8});
    t.add("b", DType::float32, {8});
    t.add("c", safetensors ? DType::complex128 : DType::uint16, {4});  // the second shard cannot be written
    ScratchDir dir;
    // An earlier save with the same names: two shards and an index.
    std::string path = (dir.path / name).string();
    ShardPlan plan = plan_shards(name, 64, t.outputs());
    REQUIRE(plan.files.size() == 2);
    spit(dir.path / plan.files[0], "earlier shard 1");
    spit(dir.path / plan.files[1], "earlier shard 2");
    spit(path + ".index.json", "earlier index");
    auto before = dir.snapshot();
    CHECK_THROWS_WITH_AS(write_sharded(path, 64, t.outputs(), {}), doctest::Contains(safetensors ? "complex128" : "uint16"),
                         InputError);
    CHECK(dir.snapshot() == before);
  }
}

TEST_CASE("a file size limit hit in the second shard leaves the directory exactly as it was") {
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    CAPTURE(name);
    Tensors t;
    t.add("small", DType::float32, {64});   // 256 bytes: its shard fits under the limit
    t.add("large", DType::float32, {4096});  // 16 KiB, the maximum: the second shard, which does not
    ScratchDir dir;
    std::string path = (dir.path / name).string();
    ShardPlan plan = plan_shards(name, 16384, t.outputs());
    REQUIRE(plan.files.size() == 2);
    REQUIRE(plan.tensors[1] == std::vector<std::size_t>{1});
    spit(path + ".index.json", "earlier index");
    auto before = dir.snapshot();
    struct rlimit limit = saved;
    limit.rlim_cur = 8192;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    bool threw = false;
    try {
      write_sharded(path, 16384, t.outputs(), {});
    } catch (const InputError& error) {
      threw = true;
      CHECK(std::string(error.what()).find("File too large") != std::string::npos);
    }
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
    CHECK(threw);
    CHECK(dir.snapshot() == before);
  }
  std::signal(SIGXFSZ, old_handler);
}

TEST_CASE("an AtomicFileSet that fails while publishing takes back what it placed and restores the earlier files") {
  for (std::size_t fail_at : {0, 1, 2}) {
    CAPTURE(fail_at);
    ScratchDir dir;
    spit(dir.path / "a", "earlier a");
    spit(dir.path / "index", "earlier index");  // no earlier b
    auto before = dir.snapshot();
    {
      AtomicFileSet set;
      set.add((dir.path / "a").string()).write("new a");
      set.add((dir.path / "b").string()).write("new b");
      set.add((dir.path / "index").string()).write("new index");
      set.fail_publishing_at_for_test(fail_at);
      CHECK_THROWS_WITH_AS(set.commit(), doctest::Contains("none of the 3 files was written"), InputError);
    }
    CHECK(dir.snapshot() == before);
  }
  ScratchDir dir;
  spit(dir.path / "a", "earlier a");
  spit(dir.path / "index", "earlier index");
  {
    AtomicFileSet set;
    set.add((dir.path / "a").string()).write("new a");
    set.add((dir.path / "b").string()).write("new b");
    set.add((dir.path / "index").string()).write("new index");
    set.commit();
  }
  CHECK(dir.snapshot() == std::map<std::string, std::string>{{"a", "new a"}, {"b", "new b"}, {"index", "new index"}});
}

TEST_CASE("an AtomicFileSet whose target is a directory fails before it touches anything") {
  ScratchDir dir;
  spit(dir.path / "a", "earlier a");
  fs::create_directory(dir.path / "b");
  auto before = dir.snapshot();
  {
    AtomicFileSet set;
    set.add((dir.path / "a").string()).write("new a");
    set.add((dir.path / "b").string()).write("new b");
    set.add((dir.path / "index").string()).write("new index");
    CHECK_THROWS_WITH_AS(set.commit(), doctest::Contains("a directory is in the way"), InputError);
  }
  CHECK(dir.snapshot() == before);
}

TEST_CASE("an AtomicFileSet of many members keeps a bounded number of descriptors open") {
  ScratchDir dir;
  {
    AtomicFileSet set;
    for (int i = 0; i < 300; ++i) set.add((dir.path / fmt::format("shard-{}", i)).string()).write(fmt::format("{}", i));
    int open = 0;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) open += entry.exists() ? 1 : 0;
    CHECK(open < 200);
  }
  CHECK(dir.snapshot().empty());  // destroyed uncommitted: the hidden ones are removed too
}

TEST_CASE("Hugging Face's sharded .bin checkpoints read whole - through the index or the directory") {
  json expected;
  {
    std::ifstream in(kSharding + "bin_shards_expected.json");
    expected = json::parse(in);
  }
  for (const std::string& source : {kSharding + "bin_shards/pytorch_model.bin.index.json", kSharding + "bin_shards"}) {
    CAPTURE(source);
    Checkpoint checkpoint = read_checkpoint(source);
    CHECK(checkpoint.format == "torch (sharded)");
    CHECK(checkpoint.path == kSharding + "bin_shards/pytorch_model.bin.index.json");
    REQUIRE(checkpoint.tensors.size() == expected["tensors"].size());
    for (const auto& tensor : checkpoint.tensors) {
      CAPTURE(tensor.name);
      const auto& want = expected["tensors"][tensor.name];
      CHECK(tensor.data.shape == want["shape"].get<std::vector<int64_t>>());
      CHECK(dtype_name(tensor.data.dtype) == want["dtype"].get<std::string>());
      CHECK(digest(tensor.data.contiguous_bytes()) == want["sha256"].get<std::string>());
    }
    TensorTable table = checkpoint_table(checkpoint);
    std::map<std::string, std::string> ties;
    for (const auto& record : table.tensors)
      if (record.tied_to) ties[std::string(record.name)] = table.tensors[*record.tied_to].name;
    CHECK(ties == std::map<std::string, std::string>{{"lm_head.weight", "model.embed_tokens.weight"}});
  }
  // taxon's own split of the same state dict is the one the fixture holds (huggingface_hub's, for 1KB).
  Checkpoint whole = read_checkpoint(kSharding + "bin_shards");
  std::vector<OutputTensor> in_order;
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight",
                           "model.layers.0.input_layernorm.weight", "model.layers.0.step", "model.layers.1.self_attn.q_proj.weight",
                           "model.layers.1.mlp.up_proj.weight", "model.layers.1.input_layernorm.weight", "model.layers.1.step",
                           "model.norm.weight", "lm_head.weight"})
    for (const auto& tensor : whole.tensors)
      if (tensor.name == name) in_order.push_back({tensor.name, &tensor.data});
  ShardPlan plan = plan_shards("pytorch_model.bin", parse_shard_size("1KB"), in_order);
  CHECK(plan.total_size == expected["total_size"].get<uint64_t>());
  json index = json::parse(slurp(kSharding + "bin_shards/pytorch_model.bin.index.json"));
  for (std::size_t s = 0; s < plan.files.size(); ++s)
    for (std::size_t i : plan.tensors[s]) CHECK(index["weight_map"][in_order[i].name] == plan.files[s]);
}

TEST_CASE("a sharded .bin checkpoint whose shards disagree with its index is refused") {
  ScratchDir dir;
  for (const auto& entry : fs::directory_iterator(kSharding + "bin_shards")) fs::copy(entry.path(), dir.path / entry.path().filename());
  std::string index_path = (dir.path / "pytorch_model.bin.index.json").string();
  std::string original = slurp(index_path);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = original;
    std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    spit(index_path, text.replace(at, from.size(), to));
  };
  with("\"model.norm.weight\": \"pytorch_model-00002-of-00002.bin\"", "\"model.norm.weight\": \"pytorch_model-00001-of-00002.bin\"");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("holds \"model.norm.weight\", which the index places in pytorch_model-00001"),
                       InputError);
  with("\"model.norm.weight\": \"pytorch_model-00002-of-00002.bin\"", "\"model.gone.weight\": \"pytorch_model-00002-of-00002.bin\"");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("\"model.norm.weight\", which the index places nowhere"), InputError);
  with("\"model.norm.weight\": \"pytorch_model-00002-of-00002.bin\"",
       "\"model.norm.weight\": \"pytorch_model-00002-of-00002.bin\",\n    \"extra\": \"pytorch_model-00001-of-00002.bin\"");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("places \"extra\" in pytorch_model-00001-of-00002.bin, which does not hold it"),
                       InputError);
  with("\"model.norm.weight\": \"pytorch_model-00002-of-00002.bin\"", "\"model.norm.weight\": \"model-00002-of-00002.safetensors\"");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("safetensors and torch shards together"), InputError);
  fs::remove(dir.path / "pytorch_model-00002-of-00002.bin");
  spit(index_path, original);
  CHECK_THROWS_AS(read_checkpoint(dir.path.string()), InputError);
}

TEST_CASE("an index that is not JSON or has no weight_map is refused with where and what") {
  ScratchDir dir;
  for (const auto& entry : fs::directory_iterator(kSharding + "bin_shards")) fs::copy(entry.path(), dir.path / entry.path().filename());
  std::string index_path = (dir.path / "pytorch_model.bin.index.json").string();
  std::string original = slurp(index_path);
  REQUIRE(read_checkpoint(index_path).tensors.size() > 0);
  // Cut after the second line's first character: the error is placed at the end of the text.
  std::size_t second_line = original.find('\n') + 1;
  spit(index_path, original.substr(0, second_line + 1));
  std::string placed = index_path + ":2:2: a sharded checkpoint's index is not valid JSON";
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains(placed.c_str()), InputError);
  spit(index_path, R"({"metadata": {}, "weight_mapping": {}})");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("index needs \"weight_map\": {tensor: shard file}"), InputError);
  spit(index_path, R"({"weight_map": ["model.norm.weight"]})");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("index needs \"weight_map\""), InputError);
  spit(index_path, R"({"weight_map": {"model.norm.weight": 2}})");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("weight_map.model.norm.weight is not a file name"), InputError);
  spit(index_path, R"({"weight_map": {"a": "x.bin", "a": "x.bin"}})");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("\"a\" appears twice in weight_map"), InputError);
  spit(index_path, R"({"weight_map": {"a": "../x.bin"}})");
  CHECK_THROWS_WITH_AS(read_checkpoint(index_path), doctest::Contains("shard \"../x.bin\" is not a file next to the index"), InputError);
}

TEST_CASE("a directory reads as transformers' from_pretrained reads it - model.safetensors first") {
  Tensors single, sharded;
  single.add("plain", DType::float32, {2});
  sharded.add("one", DType::float32, {4});
  sharded.add("two", DType::float32, {4});
  ScratchDir dir;
  write_sharded((dir.path / "pytorch_model.bin").string(), 16, sharded.outputs(), {});
  CHECK(read_checkpoint(dir.path.string()).format == "torch (sharded)");
  write_torch((dir.path / "pytorch_model.bin").string(), state_dict_value(single.outputs()));
  CHECK(read_checkpoint(dir.path.string()).format == "torch zip");
  write_sharded((dir.path / "model.safetensors").string(), 16, sharded.outputs(), {});
  CHECK(read_checkpoint(dir.path.string()).format == "safetensors (sharded)");
  write_safetensors((dir.path / "model.safetensors").string(), single.outputs(), {});
  Checkpoint plain = read_checkpoint(dir.path.string());
  CHECK(plain.format == "safetensors");
  CHECK(names_of(plain) == std::vector<std::string>{"plain"});
  ScratchDir empty;
  spit(empty.path / "config.json", "{}");
  CHECK_THROWS_WITH_AS(read_checkpoint(empty.path.string()), doctest::Contains("pytorch_model.bin.index.json"), InputError);
}

TEST_CASE("checkpoint_files_at lists the plain file - the index - and shards of any count") {
  ScratchDir dir;
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                           "model-00003-of-00003.safetensors", "model-123456-of-123456.safetensors", "model-1-of-2.safetensors",
                           "model-00001-0f-00002.safetensors", "model-00001-of-00002x.safetensors", "model-00001-of-.safetensors",
                           "model-00001-of-00002.bin", "other-00001-of-00002.safetensors", "model.safetensors.bak", "config.json"})
    spit(dir.path / name, "x");
  std::vector<std::string> want;
  for (const char* name : {"model-00001-of-00002.safetensors", "model-00003-of-00003.safetensors",
                           "model-123456-of-123456.safetensors", "model.safetensors", "model.safetensors.index.json"})
    want.push_back((dir.path / name).string());
  CHECK(checkpoint_files_at((dir.path / "model.safetensors").string()) == want);
  CHECK(checkpoint_files_at((dir.path / "pytorch_model.bin").string()).empty());
}
