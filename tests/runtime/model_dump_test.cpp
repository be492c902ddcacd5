#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

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
        "d.json:2:14: not valid JSON (expected a value, found '}'); a model dump is one JSON object (docs/model-dump.md)");
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

namespace {
// Writes `text` to a scratch file and reads it back as a dump (a list of 4 MiB or more in two halves).
TensorTable read_text(const std::string& text, const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() / ("taxon-model-dump-" + name + ".json")).string();
  std::ofstream(path, std::ios::binary) << text;
  TensorTable table = read_model_dump(path, DumpReadOptions{.split_from = std::size_t{4} << 20});
  std::filesystem::remove(path);
  return table;
}
}  // namespace

TEST_CASE("a dump whose size is a whole number of pages reads - the parser's padding is not the file's") {
  // The reader maps the file and lets the parser read past its end: that must not fault.
  for (std::size_t size : {std::size_t{4096}, std::size_t{8192}, std::size_t{4096 * 3 - 1}}) {
    CAPTURE(size);
    std::string text = R"({"format": "model-dump/1", "tensors": [{"name": "w", "shape": [2], "dtype": "float32"}]})";
    text.append(size - text.size() - 1, ' ');
    text += '\n';
    REQUIRE(text.size() == size);
    TensorTable table = read_text(text, std::to_string(size));
    REQUIRE(table.tensors.size() == 1);
    CHECK(table.tensors[0].name == "w");
  }
}

TEST_CASE("keys in any order - escapes - nulls - unknown keys and long shapes read as written") {
  std::string text = R"({"tensors": [
      {"dtype": "float16", "shape": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18], "future": {"a": [1, {"b": null}]},
       "module": null, "name": "block.\"quoted\".w\u00e9ight"},
      {"module_type": "Linear", "kind": "buffer", "persistent": false, "shape": [], "name": "b", "dtype": "int64",
       "module": "blocks.0", "tied_to": null, "requires_grad": false}],
    "model": "m", "format": "model-dump/1"})";
  for (const std::string& name : {std::string("mapped"), std::string("in-memory")}) {
    CAPTURE(name);
    TensorTable table = name == "mapped" ? read_text(text, "order") : parse_model_dump(text, "d.json");
    REQUIRE(table.tensors.size() == 2);
    CHECK(table.model == "m");
    const TensorRecord& first = table.tensors[0];
    CHECK(first.name == "block.\"quoted\".w\xc3\xa9ight");
    CHECK(first.shape.size() == 18);
    CHECK(first.shape.back() == 18);
    CHECK(first.dtype == "float16");
    CHECK(first.module.empty());
    CHECK(first.kind == TensorKind::parameter);
    const TensorRecord& second = table.tensors[1];
    CHECK(second.kind == TensorKind::buffer);
    CHECK_FALSE(second.persistent);
    CHECK_FALSE(second.requires_grad);
    CHECK(second.module == "blocks.0");
    CHECK(second.module_type == "Linear");
    CHECK_FALSE(second.tied_to.has_value());
    CHECK(table.has_module_types);
  }
}

TEST_CASE("what follows the dump's object - and fields of the wrong type - are reported") {
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": []} {})").starts_with("d.json:1:43: not valid JSON"));
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [], "dtype": "f", "module": 3}]})") ==
        "d.json: tensors[0] (\"a\"): \"module\" must be a string");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"dtype": "f", "shape": "2", "name": "a"}]})") ==
        "d.json: tensors[0] (\"a\"): \"shape\" is missing or not a list");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [3]})") == "d.json: tensors[0]: each tensor must be a JSON object");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [], "parameter_groups_metadata": [1]})") ==
        "d.json: \"parameter_groups_metadata\" must hold \"stages\": {STAGE: [patterns]}");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [], "parameter_groups_metadata": {"stages": {"1": "x"}}})") ==
        "d.json: parameter_groups_metadata.stages.1 must be a list of name patterns");
  CHECK(error_of(R"({"format": "model-dump/1", "modules": [{"name": "x"}], "tensors": []})") ==
        "d.json: modules[0]: needs string fields \"name\" and \"type\"");
  CHECK(error_of(R"({"format": "model-dump/1", "tensors": [{"name": "a", "shape": [], "dtype": "f"}], "tensors": 5})") ==
        "d.json: \"tensors\" is missing or not a list");
}

TEST_CASE("a dump the reader hands back to the kernel as it goes reads whole - and a late error still has its line") {
  // Pages behind the parser are released every few thousand tensors: what comes after them (a
  // tie to the first tensor, the trailing keys) and the error path (which reads the text again)
  // must not notice.
  auto dump = [](std::size_t count, const std::string& tail) {
    std::string text = "{\"format\": \"model-dump/1\", \"tensors\": [\n";
    for (std::size_t i = 0; i < count; ++i)
      text += fmt::format("{}{{\"name\": \"layers.{}.weight\", \"shape\": [8, 8], \"dtype\": \"float32\"{}}}\n", i ? "," : "", i,
                          i + 1 == count ? ", \"tied_to\": \"layers.0.weight\"" : "");
    return text + tail;
  };
  TensorTable table = read_text(dump(50000, "], \"model\": \"late\"}\n"), "released");
  REQUIRE(table.tensors.size() == 50000);
  CHECK(table.tensors[0].name == "layers.0.weight");
  CHECK(table.tensors[31337].name == "layers.31337.weight");
  CHECK(table.tensors[49999].tied_to == TieIndex(0));
  CHECK(table.model == "late");
  try {
    read_text(dump(50000, "], \"model\": }\n"), "released-error");
    FAIL("a syntax error was accepted");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()).find(":50002:") != std::string::npos);
  }
}

namespace {
// A dump of `count` tensors (~80 bytes each, so that 60,000 make a list long enough to be read in
// two halves at once), `extra` written into every entry, `tail` after the list.
std::string long_dump(std::size_t count, const std::string& extra, const std::string& tail) {
  std::string text = "{\"format\": \"model-dump/1\", \"tensors\": [\n";
  for (std::size_t i = 0; i < count; ++i)
    text += fmt::format("{}{{\"name\": \"layers.{}.w\", \"shape\": [{}, 8], \"dtype\": \"float32\", \"module\": \"layers.{}\"{}{}}}\n",
                        i ? "," : "", i, i % 7, i, extra,
                        i == count - 1   ? std::string(", \"tied_to\": \"layers.1.w\"")
                        : i == count - 2 ? fmt::format(", \"tied_to\": \"layers.{}.w\"", count - 11000)
                                         : std::string());
  return text + tail;
}

void check_same_tables(const TensorTable& read, const TensorTable& parsed) {
  REQUIRE(read.tensors.size() == parsed.tensors.size());
  for (std::size_t i = 0; i < read.tensors.size(); ++i) {
    const TensorRecord &a = read.tensors[i], &b = parsed.tensors[i];
    if (a.name != b.name || a.shape != b.shape || a.dtype != b.dtype || a.module != b.module || a.tied_to != b.tied_to) {
      CAPTURE(i);
      FAIL("tensor ", i, " differs: ", a.name, " / ", b.name);
    }
  }
  CHECK(read.model == parsed.model);
  CHECK(read.has_module_types == parsed.has_module_types);
}
}  // namespace

TEST_CASE("a long list read in two halves at once gives the records of one reader - ties across the halves included") {
  std::string text = long_dump(60000, "", "], \"model\": \"after\"}\n");
  REQUIRE(text.size() > (std::size_t{4} << 20));  // long enough to be split
  TensorTable read = read_text(text, "halves");     // a file: read in two halves
  TensorTable parsed = parse_model_dump(text, "d.json");  // in memory: one reader
  check_same_tables(read, parsed);
  CHECK(read.tensors[59999].tied_to == TieIndex(1));      // to the first half
  CHECK(read.tensors[59998].tied_to == TieIndex(49000));  // within the second
  CHECK(read.model == "after");
}

TEST_CASE("a second half guessed inside an entry is dropped - and a late error is said as one reader says it") {
  // Every entry holds a list of objects, so a ",{" after the middle starts no entry at first.
  std::string nested = ", \"extra\": [1, {\"a\": [2, {\"b\": 3}]}, {\"c\": 4}]";
  std::string text = long_dump(40000, nested, "]}\n");
  REQUIRE(text.size() > (std::size_t{4} << 20));
  check_same_tables(read_text(text, "nested"), parse_model_dump(text, "d.json"));

  std::string broken = long_dump(60000, "", "]}\n");
  std::size_t late = broken.find("layers.55555.w");
  broken.replace(broken.find("\"shape\": [", late), 10, "\"shape\": {");  // tensors[55555] breaks the JSON
  std::string from_file, from_memory;
  try {
    read_text(broken, "broken");
  } catch (const InputError& error) {
    from_file = error.what();
  }
  try {
    parse_model_dump(broken, "d.json");
  } catch (const InputError& error) {
    from_memory = error.what();
  }
  CHECK(from_file.find(":55557:") != std::string::npos);
  CHECK(from_file.substr(from_file.find(':')) == from_memory.substr(from_memory.find(':')));

  std::string bad_field = long_dump(60000, "", "]}\n");
  std::size_t field = bad_field.find("\"dtype\": \"float32\"", bad_field.find("layers.55555.w"));
  bad_field.replace(field, 18, "\"dtype\": 7        ");
  try {
    read_text(bad_field, "bad-field");
    FAIL("a bad dtype in the second half was accepted");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()).ends_with("tensors[55555] (\"layers.55555.w\"): \"dtype\" is missing or not a string"));
  }
}

namespace {
// A dump of `modules` modules and `tensors` tensors, the modules list first or last.
std::string dump_with_modules(std::size_t modules, std::size_t tensors, bool modules_first) {
  std::string module_list = "\"modules\": [\n";
  for (std::size_t i = 0; i < modules; ++i)
    module_list += fmt::format("{}{{\"name\": \"layers.{}\", \"type\": \"Linear\", \"mro\": [\"torch.nn.Linear\"]}}\n", i ? "," : "", i);
  module_list += "]";
  std::string tensor_list = "\"tensors\": [\n";
  for (std::size_t i = 0; i < tensors; ++i)
    tensor_list += fmt::format("{}{{\"name\": \"layers.{}.weight\", \"shape\": [{}, 8], \"dtype\": \"float32\", \"module\": \"layers.{}\", "
                               "\"module_type\": \"Linear\"}}\n",
                               i ? "," : "", i % modules, i % 5, i % modules);
  tensor_list += "]";
  return fmt::format("{{\"format\": \"model-dump/1\", {}, {}}}\n", modules_first ? module_list : tensor_list,
                     modules_first ? tensor_list : module_list);
}

void check_same_modules(const TensorTable& read, const TensorTable& parsed) {
  REQUIRE(read.modules.size() == parsed.modules.size());
  for (std::size_t i = 0; i < read.modules.size(); ++i)
    if (read.modules[i] != parsed.modules[i]) FAIL("module ", i, " differs: ", read.modules[i].first, " / ", parsed.modules[i].first);
  CHECK(read.module_mro.size() == parsed.module_mro.size());
}
}  // namespace

TEST_CASE("the second reader starts with the document - kept when its start is in the tensor list - dropped elsewhere") {
  // Modules first, tensors most of the text: the middle is in the tensor list, read by two
  // readers (the second one's strings are in a store of its own, kept by the table's).
  std::string text = dump_with_modules(10000, 50000, true);
  REQUIRE(text.size() > (std::size_t{4} << 20));
  TensorTable read = read_text(text, "modules-first"), parsed = parse_model_dump(text, "d.json");
  check_same_tables(read, parsed);
  check_same_modules(read, parsed);
  CHECK(read.store.bytes() < parsed.store.bytes() * 3 / 4);

  // Modules most of the text: the guess falls among them, and the first reader reads all alone.
  text = dump_with_modules(60000, 5000, true);
  REQUIRE(text.size() > (std::size_t{4} << 20));
  read = read_text(text, "modules-most");
  parsed = parse_model_dump(text, "d.json");
  check_same_tables(read, parsed);
  check_same_modules(read, parsed);
  CHECK(read.store.bytes() == parsed.store.bytes());

  // Tensors first, then modules: either way, the same tables.
  for (std::size_t tensors : {std::size_t{50000}, std::size_t{20000}}) {
    CAPTURE(tensors);
    text = dump_with_modules(20000, tensors, false);
    read = read_text(text, "tensors-first");
    parsed = parse_model_dump(text, "d.json");
    check_same_tables(read, parsed);
    check_same_modules(read, parsed);
  }
}
