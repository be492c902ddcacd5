// ApplyOptions::part/parts/join: a sharded output written by parts that never talk, in any order,
// then joined, equals one write() byte for byte; a join with a shard missing names it and writes nothing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "taxon/taxon.hpp"

namespace {

namespace fs = std::filesystem;

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

taxon::ApplyOptions convert(const fs::path& directory) {
  taxon::ApplyOptions options;
  options.checkpoints = {TAXON_SOURCE_DIR "/tests/data/ckpt/llama_tiny/ddp.pt"};
  options.output = (directory / "model.safetensors").string();
  options.max_shard_size = "4KB";
  return options;
}

struct ScratchDirectory {
  fs::path path;
  // Named by the process too: the sanitizer and Release suites may run at once.
  explicit ScratchDirectory(const std::string& name)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path / "one");
    fs::create_directories(path / "parts");
  }
  ~ScratchDirectory() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("sharded parts: three parts in any order and then a join equal one write byte for byte") {
  ScratchDirectory scratch("taxon-sharded-parts-test");
  taxon::Rules rules = taxon::Rules::parse("plan unwrap {\n  strip \"module.\"\n  load strict = false\n}\n");
  REQUIRE(rules.ok());
  taxon::plan_application(rules, convert(scratch.path / "one")).write();
  std::vector<fs::path> whole;
  for (const auto& entry : fs::directory_iterator(scratch.path / "one")) whole.push_back(entry.path().filename());
  REQUIRE(whole.size() > 4);  // shards and an index

  for (std::size_t part : {3u, 1u, 2u}) {
    taxon::ApplyOptions options = convert(scratch.path / "parts");
    options.part = part;
    options.parts = 3;
    auto written = taxon::plan_application(rules, options).write();
    CHECK_FALSE(written.empty());
    for (const auto& file : written) CHECK(file.find("index") == std::string::npos);
  }
  taxon::ApplyOptions join = convert(scratch.path / "parts");
  join.join = true;
  join.parts = 3;

  // One shard gone: the join says which, and which part writes it, and writes no index.
  fs::path second;
  for (const auto& entry : fs::directory_iterator(scratch.path / "parts"))
    if (entry.path().filename().string().starts_with("model-00002-of-")) second = entry.path();
  fs::path kept = second.string() + ".kept";
  fs::rename(second, kept);
  try {
    taxon::plan_application(rules, join).write();
    FAIL("a join with a shard missing must throw");
  } catch (const taxon::Error& error) {
    CHECK(std::string(error.what()).find(second.filename().string() + " is missing (part 2 of 3)") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(scratch.path / "parts" / "model.safetensors.index.json"));
  fs::rename(kept, second);

  taxon::plan_application(rules, join).write();
  for (const auto& name : whole) {
    CAPTURE(name);
    REQUIRE(fs::exists(scratch.path / "parts" / name));
    CHECK(bytes_of(scratch.path / "one" / name) == bytes_of(scratch.path / "parts" / name));
  }
}

TEST_CASE("sharded parts: --jobs 3 writes what one write() writes - byte for byte") {
  ScratchDirectory scratch("taxon-sharded-jobs-test");
  taxon::Rules rules = taxon::Rules::parse("plan unwrap {\n  strip \"module.\"\n  load strict = false\n}\n");
  taxon::plan_application(rules, convert(scratch.path / "one")).write();
  taxon::ApplyOptions threaded = convert(scratch.path / "parts");
  threaded.jobs = 3;
  auto written = taxon::plan_application(rules, threaded).write();
  CHECK(written.back().ends_with("model.safetensors.index.json"));
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(scratch.path / "one")) {
    CAPTURE(entry.path());
    ++files;
    CHECK(bytes_of(entry.path()) == bytes_of(scratch.path / "parts" / entry.path().filename()));
  }
  CHECK(files == written.size());
}

TEST_CASE("sharded parts: a part outside 1..N - or parts without a shard size - are usage errors") {
  taxon::Rules rules = taxon::Rules::parse("plan unwrap {\n  strip \"module.\"\n}\n");
  taxon::ApplyOptions options = convert(fs::temp_directory_path());
  options.part = 4;
  options.parts = 3;
  CHECK_THROWS_AS(taxon::plan_application(rules, options), taxon::Error);
  options.part = 1;
  options.max_shard_size.clear();
  CHECK_THROWS_AS(taxon::plan_application(rules, options), taxon::Error);
  taxon::ApplyOptions threads = convert(fs::temp_directory_path());
  threads.max_shard_size.clear();
  threads.jobs = 2;
  CHECK_THROWS_AS(taxon::plan_application(rules, threads), taxon::Error);
}
